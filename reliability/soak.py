"""Bounded soak test: the real stack at ~80% of its measured maximum throughput for a few minutes.

    .venv/bin/python -m reliability.soak [--minutes 5] [--model-dir build/demo-model] [--out reliability/results]

1. Starts entrypoint/serve on the model (default configuration) and measures its maximum throughput
   with a closed loop at concurrency 4.
2. Sends an open-loop stream at 80% of that rate (latency counted from each request's scheduled time,
   so a stall cannot hide), 90% valid questions and 10% invalid requests of three kinds, each with the
   status it must get.
3. Kills the model worker (SIGKILL) half-way through: requests in flight then, and those that arrive before a
   worker is back, must get a fast 503 (retryable, JSON), never a hang or a dropped connection.
4. Samples the RSS of the whole process tree every few seconds.
Passes when no request got an unexpected status (a 503 is expected only between the kill and /ping answering 200
again, plus 2 s), every request got an answer, the last minute's p99 is within 1.5x the first's (after warm-up),
and RSS grew less than 5% from the end of the first minute to the end. Writes soak-latest.json and
soak-latest.md under --out, with the host it ran on, and exits non-zero if it failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import signal
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.run import machine_meta
from reliability.report import heading
from tests.support.stack import Stack

QUESTION = {
    "question": "Which port does the container listen on?",
    "context": (
        "The container listens on port 8080 and answers questions about the documents it is "
        "given. Requests go to the invocations route as JSON, and health checks go to ping. "
    )
    * 4,
}
# (body, content type, expected status): the mix a fleet sees.
VALID = (json.dumps(QUESTION).encode(), "application/json", 200)
INVALID = [
    (b'{"question": "unterminated', "application/json", 400),
    (json.dumps({"question": "no context"}).encode(), "application/json", 400),
    (b"question,context", "text/plain", 415),
]


@dataclass
class Result:
    scheduled: float
    latency: float
    status: int
    expected: int


@dataclass
class Kill:
    at: float = float("nan")  # seconds into the open loop
    ready_again: float = float("nan")
    pid: int = 0


def kill_worker_at(stack: Stack, start: float, at: float, kill: Kill) -> None:
    while time.monotonic() < start + at:
        time.sleep(0.05)
    kill.pid = stack.forked_workers()[0].pid
    os.kill(kill.pid, signal.SIGKILL)
    kill.at = time.monotonic() - start
    time.sleep(0.2)
    while True:
        try:
            if stack.ping(timeout=2).status_code == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    kill.ready_again = time.monotonic() - start


def post(port: int, body: bytes, content_type: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/invocations", body, {"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return -1
    finally:
        connection.close()


def max_throughput(port: int, seconds: float = 20.0, concurrency: int = 4) -> float:
    done = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            if post(port, VALID[0], VALID[1]) == 200:
                with lock:
                    done += 1

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / seconds


def tree_rss(pid: int) -> int:
    root = psutil.Process(pid)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def open_loop(stack: Stack, rate: float, seconds: float, kill: Kill) -> tuple[list[Result], list[tuple[float, int]]]:
    port, pid = stack.port, stack.process.pid  # type: ignore[union-attr]
    results: list[Result] = []
    rss: list[tuple[float, int]] = []
    start = time.monotonic()
    killer = threading.Thread(target=kill_worker_at, args=(stack, start, seconds / 2, kill), daemon=True)
    killer.start()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        futures = []
        for index in range(int(rate * seconds)):
            scheduled = start + index / rate
            while (now := time.monotonic()) < scheduled:
                time.sleep(min(0.01, scheduled - now))
            if not rss or now - rss[-1][0] - start >= 5:
                rss.append((now - start, tree_rss(pid)))
            body, content_type, expected = INVALID[index // 10 % 3] if index % 10 == 9 else VALID
            futures.append(pool.submit(_timed, port, body, content_type, expected, scheduled, start))
        results = [future.result() for future in futures]
    killer.join(timeout=60)
    rss.append((time.monotonic() - start, tree_rss(pid)))
    return results, rss


def _timed(port: int, body: bytes, content_type: str, expected: int, scheduled: float, start: float) -> Result:
    status = post(port, body, content_type)
    return Result(scheduled - start, time.monotonic() - scheduled, status, expected)


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 2 else latencies[0]


def in_restart(result: Result, kill: Kill) -> bool:
    """Sent (or still in flight) between the worker's kill and 2 s after /ping answered 200 again."""
    return result.scheduled + result.latency >= kill.at and result.scheduled <= kill.ready_again + 2.0


def summarise(results: list[Result], rss: list[tuple[float, int]], rate: float, maximum: float, kill: Kill) -> dict:
    minutes = int(max(r.scheduled for r in results) // 60) + 1
    per_minute = []
    for minute in range(minutes):
        window = [
            r
            for r in results
            if minute * 60 <= r.scheduled < (minute + 1) * 60 and r.expected == 200 and not in_restart(r, kill)
        ]
        latencies = sorted(r.latency * 1000 for r in window)
        per_minute.append(
            {
                "minute": minute + 1,
                "requests": len(window),
                "p50_ms": round(statistics.median(latencies), 1),
                "p99_ms": round(p99(latencies), 1),
            }
        )
    restart_503 = [r for r in results if r.status == 503 and r.status != r.expected and in_restart(r, kill)]
    unexpected = [r for r in results if r.status != r.expected and r not in restart_503]
    lost = [r for r in results if r.status < 0]
    after_warmup = next(value for at, value in rss if at >= 60) if any(at >= 60 for at, _ in rss) else rss[0][1]
    growth = (rss[-1][1] - after_warmup) / after_warmup * 100
    first, last = per_minute[0]["p99_ms"], per_minute[-1]["p99_ms"]
    return {
        "max_throughput_rps": round(maximum, 1),
        "offered_rps": round(rate, 1),
        "requests": len(results),
        "invalid_share": 0.1,
        "unexpected_statuses": len(unexpected),
        "lost": len(lost),
        "worker_killed_at_s": round(kill.at, 1),
        "ready_again_after_s": round(kill.ready_again - kill.at, 1),
        "retryable_503_during_restart": len(restart_503),
        "slowest_answer_during_restart_ms": round(
            max((r.latency for r in results if in_restart(r, kill)), default=0.0) * 1000
        ),
        "unexpected_examples": [(r.status, r.expected) for r in unexpected[:10]],
        "per_minute": per_minute,
        "rss_mb": [(round(at), round(value / 2**20)) for at, value in rss],
        "rss_growth_after_warmup_pct": round(growth, 2),
        "passed": not unexpected and not lost and last <= 1.5 * first and growth < 5.0,
    }


def write(summary: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "soak-latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        *heading("Soak", summary["passed"], summary["host"]),
        f"Measured maximum {summary['max_throughput_rps']} req/s; offered {summary['offered_rps']} req/s "
        f"open loop for {len(summary['per_minute'])} min ({summary['requests']} requests, 10% invalid); "
        f"unexpected statuses: {summary['unexpected_statuses']}; lost (no answer): {summary['lost']}; RSS "
        f"growth after the first minute: {summary['rss_growth_after_warmup_pct']}%.",
        "",
        f"The model worker was killed {summary['worker_killed_at_s']} s in; /ping answered 200 again "
        f"{summary['ready_again_after_s']} s later; {summary['retryable_503_during_restart']} requests got a "
        f"retryable 503 meanwhile, the slowest answer in that window took "
        f"{summary['slowest_answer_during_restart_ms']} ms. Per minute, requests of the restart window aside:",
        "",
        "| minute | valid requests | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    lines += [f"| {m['minute']} | {m['requests']} | {m['p50_ms']} | {m['p99_ms']} |" for m in summary["per_minute"]]
    (out / "soak-latest.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--model-dir", type=Path, default=Path("build/demo-model"))
    parser.add_argument("--share", type=float, default=0.8, help="share of the measured maximum to offer")
    parser.add_argument("--out", type=Path, default=Path("reliability/results"))
    args = parser.parse_args()
    log = args.out / "soak-serve.log"
    args.out.mkdir(parents=True, exist_ok=True)
    stack = Stack(args.model_dir.resolve(), log, MODEL_DTYPE="auto").start()
    try:
        stack.wait_ready(deadline_s=180)
        max_throughput(stack.port, seconds=5)  # warm-up
        maximum = max_throughput(stack.port)
        rate = maximum * args.share
        print(f"maximum {maximum:.1f} req/s; soaking at {rate:.1f} req/s for {args.minutes} min", flush=True)
        kill = Kill()
        results, rss = open_loop(stack, rate, args.minutes * 60, kill)
    finally:
        stack.terminate()
        stack.kill_everything()
    summary = {"host": machine_meta(), **summarise(results, rss, rate, maximum, kill)}
    write(summary, args.out)
    print((args.out / "soak-latest.md").read_text())
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
