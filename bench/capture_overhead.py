"""make bench-capture: what data capture costs. Ours with every answered request captured to a directory
(DATA_CAPTURE_PERCENT=100) against ours with capture off (the default), run side by side by bench.run in alternating
passes, at concurrency 4. The goal (issue 30): under 2% of req/s.

    .venv/bin/python -m bench.capture_overhead [--passes 4] [--seconds 20] [--kinds clf60,qa160]

Writes bench/results/capture-overhead.{json,md,png} (bench.run's report, with its host) and appends the on/off ratios
to the .md, with the records the run wrote (capture really ran) and what one captured request costs a worker in CPU,
timed alone: the request path's share (the draw, the cut, the append) and the writing thread's (the record encoded
and written), since on 2 cores the passes' noise can hide a cost of this size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

from bench import on_off, run

CAPTURE_DIR = run.ROOT / "build" / "bench-capture"
ON = f"ours:DATA_CAPTURE_PERCENT=100;DATA_CAPTURE_DESTINATION={CAPTURE_DIR}"
OFF = "ours"
GOAL = 0.98  # req/s with capture over req/s without


def main(argv: list[str]) -> int:
    args = on_off.arguments(argv, __doc__, "capture-overhead", "clf60,qa160")
    if not args.report_only:
        shutil.rmtree(CAPTURE_DIR, ignore_errors=True)
    result = on_off.measure(args, ON, OFF)
    rows = on_off.ratios(result["summary"], ON, OFF)
    files = list(CAPTURE_DIR.rglob("*.jsonl"))
    records = sum(len(path.read_bytes().splitlines()) for path in files)
    request_us, writer_us = worker_cost_us()
    on_off.append_section(
        args,
        SECTION,
        on_off.table(rows, SECTION, result["meta"]["cpu"], "capture", GOAL)
        + (
            f"\nCapture wrote {records:,} records in {len(files):,} files under {CAPTURE_DIR.relative_to(run.ROOT)}. "
            f"One captured classification request in a worker, timed alone over {ITERATIONS:,}: "
            f"**{request_us:.1f} us** "
            f"of CPU on the request path and **{writer_us:.1f} us** in the writing thread, against "
            + ", ".join(f"{row['kind']} {1e6 / row['rps_off'] * 2:.0f} us" for row in rows)
            + " of the 2 cores' time per request at concurrency 4.\n"
        ),
    )
    return 0


ITERATIONS = 20000
_TIMING = f"""
import sys, time
from hf_serving.monitoring.capture.counts import CaptureCounts
from hf_serving.monitoring.capture.destinations import Layout
from hf_serving.monitoring.capture.directory import DirectoryDestination
from hf_serving.monitoring.capture.capture import DataCapture
from hf_serving.monitoring.capture.sampler import Sampler
from hf_serving.monitoring.capture.writer import CaptureWriter
destination = DirectoryDestination(sys.argv[1], Layout("bench", "AllTraffic"))
writer = CaptureWriter(lambda: destination, CaptureCounts("model", "bench"), {ITERATIONS} + 1, 60.0)
capture = DataCapture(Sampler(100.0), writer, 256 * 1024, None)
request = bytearray(b'{{"inputs": "' + b"a fine film with a cast at its best " * 2 + b'"}}')
answer = '[{{"label": "POSITIVE", "score": 0.9987}}]'
started = time.process_time()
for n in range({ITERATIONS}):
    capture.offer(str(n), request, "application/json", answer, "application/json")
offered = time.process_time() - started
started = time.process_time()
writer.flush()
written = time.process_time() - started
writer.close()
print(offered / {ITERATIONS} * 1e6, written / {ITERATIONS} * 1e6)
"""


def worker_cost_us() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as directory:
        done = subprocess.run(
            [sys.executable, "-c", _TIMING, directory],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory},
        )
    request_us, writer_us = (float(x) for x in done.stdout.split())
    return request_us, writer_us


SECTION = "## Data capture at 100% to a directory against capture off, concurrency 4"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
