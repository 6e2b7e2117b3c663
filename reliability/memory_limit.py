"""Bounded memory per request, proved under a memory limit: the whole stack in a memory cgroup (as `docker run
--memory` or a Kubernetes limit puts it), then the largest requests the limits allow. `make memory-check` (root).

    .venv/bin/python -m reliability.memory_limit [--model-dir build/demo-model] [--limit-mb 2048]

Each request must be answered (200), stopped at the invocation timeout with the work abandoned (504), or refused up
front naming the limit (413/400), and never end in an out-of-memory kill: the cgroup's OOM kill count stays 0, no
process is restarted, and the stack answers normally afterwards. Recorded per request: the group's heaps
(anonymous memory: what no pressure can reclaim without swap) before it, at its peak (sampled every 0.1 s) and once
the worker is idle again, and the cgroup's own peak, which also counts reclaimable page cache. Writes
memory-latest.json and memory-latest.md under --out with the host it ran on.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path

import requests

from bench.payloads import build
from bench.run import machine_meta
from reliability import cgroup
from reliability.report import heading
from tests.support.paths import SERVE
from tests.support.stack import Stack

MB = 1024 * 1024
SMALLEST = {"question": "Who?", "context": "Ann."}


def items_filling(item: dict, limit_bytes: int) -> bytes:
    """A JSON list of copies of `item` as close under `limit_bytes` as whole items allow."""
    one = json.dumps(item, separators=(",", ":"))
    count = (limit_bytes - 16) // (len(one) + 1)
    return ('{"inputs":[' + ",".join([one] * count) + "]}").encode()


def json_lines_filling(item: dict, limit_bytes: int) -> bytes:
    one = json.dumps(item, separators=(",", ":"))
    return ("\n".join([one] * ((limit_bytes - 16) // (len(one) + 1))) + "\n").encode()


def one_long_context(question: str, passage: str, limit_bytes: int) -> bytes:
    context = (passage + " ") * ((limit_bytes - 200) // (len(passage) + 1))
    return json.dumps({"inputs": {"question": question, "context": context}}).encode()


def usage(group: Path) -> int:
    name = "memory.current" if cgroup.V2 else "memory.usage_in_bytes"
    return int((group / name).read_text())


def anonymous(group: Path) -> int:
    """The group's memory that cannot be reclaimed without swap: its processes' heaps, not the page cache (the
    model's files, the log) that the cgroup also counts and gives back under pressure."""
    stats = dict(line.split() for line in (group / "memory.stat").read_text().splitlines())
    return int(stats["anon"]) if cgroup.V2 else int(stats.get("total_rss", stats.get("rss", 0)))


class AnonymousPeak:
    """The highest anonymous memory seen, sampled every 0.1 s while a request runs."""

    def __init__(self, group: Path) -> None:
        self.group, self.peak, self.stop = group, 0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> AnonymousPeak:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, anonymous(self.group))
            if self.stop.wait(0.1):
                return


def run_cases(stack: Stack, group: Path, cases: list[tuple[str, bytes, str]], timeout_s: float) -> list[dict]:
    results = []
    for name, body, content_type in cases:
        settle(stack)
        cgroup.reset_memory_peak(group)
        before = anonymous(group)
        started = time.monotonic()
        with AnonymousPeak(group) as sampled:
            try:
                response = requests.post(
                    f"{stack.url}/invocations",
                    data=body,
                    timeout=timeout_s,
                    headers={"Content-Type": content_type, "Accept": "application/json"},
                )
                status, detail = (
                    response.status_code,
                    (
                        response.json().get("error", {})
                        if response.status_code != 200
                        else {"answers": _count(response)}
                    ),
                )
            except requests.RequestException as exc:
                status, detail = -1, {"exception": type(exc).__name__}
        seconds = time.monotonic() - started
        settle(stack)  # a 504 comes while the worker still finishes its chunk: measure once it has
        peak = cgroup.memory_peak(group)
        results.append(
            {
                "case": name,
                "body_mb": round(len(body) / MB, 2),
                "status": status,
                "detail": detail,
                "seconds": round(seconds, 1),
                "anon_before_mb": round(before / MB),
                "anon_peak_mb": round(sampled.peak / MB),
                "anon_after_mb": round(anonymous(group) / MB),
                "peak_mb": round(peak / MB),
                "oom_kills_so_far": cgroup.oom_kills(group),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    return results


def settle(stack: Stack) -> None:
    """Returns once the worker is idle: a small request is answered only after what it was doing."""
    stack.invoke({"question": "Which port?", "context": "The container listens on port 8080."}, timeout=180)
    time.sleep(1.0)


def _count(response: requests.Response) -> int:
    text = response.text
    try:
        payload = json.loads(text)
    except ValueError:
        return len(text.splitlines())
    return len(payload) if isinstance(payload, list) else 1


def start_in_group(model_dir: Path, group: Path, log: Path, **env: str) -> Stack:
    stack = Stack(model_dir, log, MODEL_DTYPE="auto", **env)
    # The launcher joins the group before it starts anything, so nginx, Java and every worker are in it.
    stack.command = ["sh", "-c", f"echo $$ > {group / 'cgroup.procs'} && exec {SERVE}"]
    return stack.start().wait_ready(deadline_s=300)


def finish(stack: Stack, group: Path) -> dict:
    healthy = stack.ping().status_code == 200
    answer = stack.invoke({"question": "Which port?", "context": "The container listens on port 8080."})
    restarts = stack.log().count(": restarting it")
    stack.terminate()
    stack.kill_everything()
    return {
        "ping_after": 200 if healthy else "not ready",
        "answer_after": answer.status_code,
        "restarts": restarts,
        "oom_kills": cgroup.oom_kills(group),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=Path("build/demo-model"))
    parser.add_argument("--limit-mb", type=int, default=2048)
    parser.add_argument("--batch-payload-mb", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("reliability/results"))
    args = parser.parse_args()
    if not cgroup.available("memory"):
        raise SystemExit("needs root and the memory cgroup controller")
    args.out.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir.resolve()
    qa = json.loads(build({"qa": model_dir})["qa380"].body)["inputs"]  # ~378 tokens: one whole window
    limit = 6 * MB
    real_time = [
        ("6 MB of the smallest QA items (the most items)", items_filling(SMALLEST, limit), "application/json"),
        ("6 MB of ~378-token QA items", items_filling(qa, limit), "application/json"),
        (
            "one question on a 6 MB context (the longest context)",
            one_long_context(qa["question"], qa["context"], limit),
            "application/json",
        ),
        ("a body over the 6 MB limit", items_filling(SMALLEST, limit + MB), "application/json"),
    ]
    batch_limit = args.batch_payload_mb * MB
    batch = [
        (
            f"Batch Transform: {args.batch_payload_mb} MB of JSON Lines, ~378-token QA records",
            json_lines_filling(qa, batch_limit),
            "application/jsonlines",
        ),
        (
            f"Batch Transform: {args.batch_payload_mb} MB of JSON Lines, the smallest records",
            json_lines_filling(SMALLEST, batch_limit),
            "application/jsonlines",
        ),
    ]
    summary: dict = {"host": machine_meta(), "limit_mb": args.limit_mb, "runs": []}
    with cgroup.group("memory", "hf-serving-memory-check") as group:
        cgroup.limit_memory(group, args.limit_mb * MB)
        for mode, cases, env in (
            ("real time (defaults: 6 MB payload, 60 s timeout)", real_time, {}),
            (
                f"Batch Transform (SAGEMAKER_BATCH, {args.batch_payload_mb} MB payload, 60 s timeout for the check)",
                batch,
                {
                    "SAGEMAKER_BATCH": "true",
                    "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(args.batch_payload_mb),
                    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "60",
                },
            ),
        ):
            stack = start_in_group(model_dir, group, args.out / "memory-serve.log", **env)
            try:
                idle = usage(group)
                results = run_cases(stack, group, cases, timeout_s=120)
                after = finish(stack, group)
            finally:
                stack.kill_everything()
            summary["runs"].append({"mode": mode, "idle_mb": round(idle / MB), "cases": results, **after})
    summary["passed"] = all(
        run["oom_kills"] == 0
        and run["restarts"] == 0
        and run["answer_after"] == 200
        and all(case["status"] in (200, 400, 413, 504) for case in run["cases"])
        for run in summary["runs"]
    )
    (args.out / "memory-latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        *heading("Memory under a limit", summary["passed"], summary["host"]),
        f"The whole stack (nginx, Java, one worker) in a memory cgroup of {args.limit_mb} MB, no swap; full-size "
        "demo QA model (random weights), MODEL_DTYPE=auto.",
        "",
    ]
    for run in summary["runs"]:
        lines += [
            f"## {run['mode']}",
            "",
            f"Idle: {run['idle_mb']} MB. After the cases: /ping {run['ping_after']}, "
            f"a normal request {run['answer_after']}, restarts {run['restarts']}, OOM kills {run['oom_kills']}.",
            "",
            "| request | body MB | status | seconds | heaps before / peak / after, MB | cgroup peak MB "
            "(with page cache) |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['case']} | {c['body_mb']} | {c['status']} {c['detail'].get('code', '')} | {c['seconds']} | "
            f"{c['anon_before_mb']} / {c['anon_peak_mb']} / {c['anon_after_mb']} | {c['peak_mb']} |"
            for c in run["cases"]
        ]
        lines.append("")
    (args.out / "memory-latest.md").write_text("\n".join(lines))
    print((args.out / "memory-latest.md").read_text())
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
