"""make bench-metrics: what /metrics costs. Ours with metrics on (the default) against ours with SERVE_METRICS=off
(nothing counted: not nginx's per-response counts, not the workers' histograms; Server-Timing stays), run side by
side by bench.run in alternating passes, at concurrency 4. The goal (issue 16): at most 1% of req/s.

    .venv/bin/python -m bench.metrics_overhead [--passes 4] [--seconds 20] [--kinds qa160,clf60]

Writes bench/results/metrics-overhead.{json,md,png} (bench.run's report) and appends the on/off ratios to the .md,
with what one request's observations cost a worker in CPU, timed alone (prometheus_client's multiprocess files, as
the workers write them): on 2 cores the passes' noise is several percent, far above what is measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from bench import on_off

OFF = "ours:SERVE_METRICS=off"
GOAL = 0.99  # req/s with metrics over req/s without


def main(argv: list[str]) -> int:
    args = on_off.arguments(argv, __doc__, "metrics-overhead", "qa160,clf60")
    result = on_off.measure(args, "ours", OFF)
    rows = on_off.ratios(result["summary"], "ours", OFF)
    per_request_us = worker_cost_us()
    on_off.append_section(
        args,
        SECTION,
        on_off.table(rows, SECTION, result["meta"]["cpu"], "on", GOAL)
        + (
            f"\nOne request's observations in a worker (stage histograms, tokens, the batch's size and rows), "
            f"timed alone "
            f"over {ITERATIONS:,} requests: **{per_request_us:.1f} us of CPU**, against "
            + ", ".join(f"{row['kind']} {1e6 / row['rps_on'] * 2:.0f} us" for row in rows)
            + " of the 2 cores' time per request at concurrency 4.\n"
        ),
    )
    return 0


ITERATIONS = 20000
_TIMING = f"""
import time
from hf_serving.observability.worker_metrics import WorkerMetrics
metrics = WorkerMetrics("model", "question-answering")
stages = {{"queue": 0.003, "tokenise": 0.0004, "inference": 0.04, "encode": 0.0001}}
started = time.process_time()
for _ in range({ITERATIONS}):
    metrics.request(stages, 40)
    metrics.batch(1, [1])
print((time.process_time() - started) / {ITERATIONS} * 1e6)
"""


def worker_cost_us() -> float:
    with tempfile.TemporaryDirectory() as directory:
        done = subprocess.run(
            [sys.executable, "-c", _TIMING],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": directory},
        )
    return float(done.stdout.strip())


SECTION = "## Metrics on against off (SERVE_METRICS=off), concurrency 4"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
