"""The embeddings cell's model-only reference: sentence-transformers' own encode(), in-process, no server.

Run by bench/run.py in a process of its own while no server runs, in the FastAPI peer's venv when it is built
(the same sentence-transformers, transformers and torch as peer (c), and the environment it gets: default
torch threads), else in the project's venv. The model is loaded as the peer and the tutorials load it,
`SentenceTransformer(MODEL_DIR)`, then `encode(texts)` is called in a loop on the benchmark's own texts (the
`inputs` of each request body: one text, or eight in one call), after a warm-up. Prints one JSON object: per
request kind, ms per call (mean and percentiles) and sequences per second.

    python -m bench.embed_reference MODEL_DIR SECONDS WARMUP_SECONDS KIND=BODY_FILE [KIND=BODY_FILE ...]
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from bench.loadgen import percentile


def time_encode(model, texts: list[str], seconds: float, warmup_s: float) -> dict:
    def once() -> float:
        started = time.perf_counter()
        model.encode(texts)
        return (time.perf_counter() - started) * 1000.0

    deadline = time.perf_counter() + warmup_s
    while time.perf_counter() < deadline:
        once()
    latencies = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        latencies.append(once())
    elapsed = time.perf_counter() - started
    return {
        "texts": len(texts),
        "calls": len(latencies),
        "ms_per_call": sum(latencies) / len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "seq_per_s": len(texts) * len(latencies) / elapsed,
    }


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    model_dir, seconds, warmup_s, *kinds = argv
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(model_dir)
    load_s = time.perf_counter() - started
    results = {}
    for item in kinds:
        kind, _, body_file = item.partition("=")
        inputs = json.loads(Path(body_file).read_bytes())["inputs"]
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        results[kind] = time_encode(model, texts, float(seconds), float(warmup_s))
    print(json.dumps({"model_load_s": load_s, "kinds": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
