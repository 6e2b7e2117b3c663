"""What explanations cost (issue 18; part of `make bench`): their latency, and what they do to the other requests.

For each model, our server alone (default configuration) and, in turn:
  1. the first explain request after start (it loads the float32 copy into the explanation worker);
  2. explain requests back to back (concurrency 1) for --seconds: latency, and the steps the integral took;
  3. plain requests at concurrency 4 for --seconds, alone;
  4. the same plain requests while an explain request is always in flight beside them: the explanation worker
     runs at a lower CPU priority and never shares a batch, so what is left is the cores they share.
Models: the full-size demo classifier and QA model (DistilBERT, random weights: their integrals converge at the
first 32 steps) and the sentiment classifier trained here on MiniLM (real weights: a trained model's path has steep
stretches, and the steps double until the attributions add up). Writes NAME.json and NAME.md under --out.

    .venv/bin/python -m bench.explain                  # about 6 minutes on 2 cores
    .venv/bin/python -m bench.explain --seconds 3 --out build/bench-smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from bench import payloads
from bench.loadgen import CellResult, percentile, run_closed_loop
from bench.run import machine_meta
from bench.servers import MODEL_DIRS, MODEL_HINTS, ROOT, RunningServer, server_spec

PLAIN_CONCURRENCY = 4
TRAINED_REVIEW = "The hotel was dreadful, but the breakfast was excellent and the staff were lovely."


def _explained(body: bytes) -> bytes:
    payload = json.loads(body)
    payload["parameters"] = {**payload.get("parameters", {}), "explain": True}
    return json.dumps(payload).encode()


def cases() -> list[tuple[str, str, bytes]]:
    """(model, request name, plain body): the explain body is the same with "explain": true."""
    kinds = payloads.build({model: MODEL_DIRS[model] for model in ("qa", "clf")})
    found = [
        ("clf", "clf60", kinds["clf60"].body),
        ("qa", "qa160", kinds["qa160"].body),
        ("qa", "qa380", kinds["qa380"].body),
    ]
    return [*found, ("trained", "review", json.dumps({"inputs": TRAINED_REVIEW}).encode())]


def _steps(payload: object) -> list[int]:
    if isinstance(payload, dict):
        explanation = payload.get("explanation") or {}
        return [target["steps"] for target in explanation.get("targets", [])] + [
            step for value in payload.values() if isinstance(value, list | dict) for step in _steps(value)
        ]
    if isinstance(payload, list):
        return [step for item in payload for step in _steps(item)]
    return []


def _cell(result: CellResult) -> dict:
    values = result.latencies_ms
    return {
        "requests": result.requests,
        "rps": round(result.rps, 2),
        "errors": result.errors,
        **{f"p{q}_ms": round(percentile(values, q), 1) if values else None for q in (50, 95, 99)},
    }


def measure(model: str, name: str, plain: bytes, seconds: float, work_dir: Path) -> dict:
    explain = _explained(plain)
    server = RunningServer(server_spec("ours"), model, work_dir, work_dir / f"explain-{model}-{name}.log")
    record: dict = {"model": model, "request": name, "model_dir": str(MODEL_DIRS[model].relative_to(ROOT))}
    try:
        server.wait_ping()
        server.wait_first_answer(plain)
        started = time.monotonic()
        status, first = server._post(explain, timeout_s=180)
        record["first_explain_s"] = round(time.monotonic() - started, 2)
        if status != 200:
            raise RuntimeError(f"explain answered {status}: {first[:300]!r}")
        steps: list[int] = []

        def explained(answer: object) -> bool:
            steps.extend(_steps(answer))
            return bool(_steps(answer))

        record["explain_c1"] = _cell(
            run_closed_loop("127.0.0.1", server.port, "/invocations", explain, 1, seconds, explained)
        )
        record["steps"] = {"min": min(steps), "max": max(steps), "median": sorted(steps)[len(steps) // 2]}
        is_plain = lambda answer: not _steps(answer)  # noqa: E731
        record["plain_alone"] = _cell(
            run_closed_loop("127.0.0.1", server.port, "/invocations", plain, PLAIN_CONCURRENCY, seconds, is_plain)
        )
        beside: list[CellResult] = []
        background = threading.Thread(
            target=lambda: beside.append(
                run_closed_loop("127.0.0.1", server.port, "/invocations", explain, 1, seconds + 5, explained)
            )
        )
        background.start()
        time.sleep(1.0)  # an explanation in flight before the plain requests start
        record["plain_beside_explain"] = _cell(
            run_closed_loop("127.0.0.1", server.port, "/invocations", plain, PLAIN_CONCURRENCY, seconds, is_plain)
        )
        background.join()
        record["explain_beside_plain"] = _cell(beside[0])
    finally:
        record.update({key: value for key, value in server.stop().items() if key in ("peak_rss_mb", "exit_code")})
    alone, beside_explain = record["plain_alone"], record["plain_beside_explain"]
    record["plain_p50_ratio"] = round(beside_explain["p50_ms"] / alone["p50_ms"], 2)
    record["plain_rps_ratio"] = round(beside_explain["rps"] / alone["rps"], 2)
    return record


def markdown(result: dict) -> str:
    meta = result["meta"]
    lines = [
        f"# What explanations cost ({meta['started_utc']})",
        "",
        f"Host: {meta['cpu']}, {meta['cores']} cores; commit {meta['commit']}; load average at start "
        f"{meta['load_start']}. Our server alone, default configuration (the batching worker on its default "
        "engine; explanations in the explanation worker, float32 torch). Plain requests at concurrency "
        f"{PLAIN_CONCURRENCY}; {result['seconds']:g} s per cell.",
        "",
        "| model | request | first explain (loads float32) | explain p50 / p95 at c=1 | steps (median, max) | "
        "plain p50 alone | plain p50 beside an explanation | plain req/s alone / beside | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["records"]:
        lines.append(
            f"| {r['model']} ({r['model_dir']}) | {r['request']} | {r['first_explain_s']:.1f} s | "
            f"{r['explain_c1']['p50_ms']:.0f} / {r['explain_c1']['p95_ms']:.0f} ms | "
            f"{r['steps']['median']}, {r['steps']['max']} | {r['plain_alone']['p50_ms']:.0f} ms | "
            f"{r['plain_beside_explain']['p50_ms']:.0f} ms (x{r['plain_p50_ratio']}) | "
            f"{r['plain_alone']['rps']:.1f} / {r['plain_beside_explain']['rps']:.1f} | {r['peak_rss_mb']:.0f} MB |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="explain-latest")
    parser.add_argument("--requests", default="clf60,qa160,qa380,review", help="which of the requests to measure")
    args = parser.parse_args(argv)
    wanted = args.requests.split(",")
    for model in ("qa", "clf", "trained"):
        if not MODEL_DIRS[model].is_dir():
            sys.exit(f"model directory {MODEL_DIRS[model]} is missing: {MODEL_HINTS[model]}")
    work_dir = ROOT / "build" / "bench-explain"
    work_dir.mkdir(parents=True, exist_ok=True)
    meta = machine_meta()
    records = []
    for model, name, plain in (case for case in cases() if case[1] in wanted):
        print(f"bench.explain: {model} {name}", flush=True)
        records.append(measure(model, name, plain, args.seconds, work_dir))
        print(f"  {json.dumps(records[-1])}", flush=True)
    result = {"meta": meta, "seconds": args.seconds, "records": records}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
