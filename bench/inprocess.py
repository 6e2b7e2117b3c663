"""The container's own hooks called in-process, without any server: the baseline for serving overhead.

Run by bench/run.py (`python -m bench.inprocess`, from the repository root) in a subprocess of the project's
venv, while no server runs, with the environment that the default server gets: model_fn loads the model
exactly as a worker does (same dtype, same threads), then input_fn -> predict_fn -> output_fn run on the
benchmark's own request bodies, one at a time.
Prints one JSON object: per request kind, latency percentiles in milliseconds.

    python -m bench.inprocess MODEL_DIR SECONDS WARMUP_SECONDS KIND=BODY_FILE [KIND=BODY_FILE ...]
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import time
from pathlib import Path

from bench.loadgen import percentile

ROOT = Path(__file__).resolve().parents[1]


def load_hooks():
    spec = importlib.util.spec_from_file_location("inference", ROOT / "container" / "code" / "inference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_hooks(hooks, model, body: bytes, seconds: float, warmup_s: float) -> dict:
    def once() -> float:
        started = time.perf_counter()
        data = hooks.input_fn(body, "application/json")
        prediction = hooks.predict_fn(data, model)
        hooks.output_fn(prediction, "application/json")
        return (time.perf_counter() - started) * 1000.0

    deadline = time.perf_counter() + warmup_s
    while time.perf_counter() < deadline:
        once()
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        latencies.append(once())
    return {
        "requests": len(latencies),
        "mean_ms": sum(latencies) / len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
    }


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    model_dir, seconds, warmup_s, *kinds = argv
    hooks = load_hooks()
    started = time.perf_counter()
    model = hooks.model_fn(model_dir)
    load_s = time.perf_counter() - started
    results = {}
    for item in kinds:
        kind, _, body_file = item.partition("=")
        results[kind] = time_hooks(hooks, model, Path(body_file).read_bytes(), float(seconds), float(warmup_s))
    print(json.dumps({"model_load_s": load_s, "kinds": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
