"""make bench-pass-size: what a model pass's size is worth, the measure behind MAX_BATCH_TOKENS (issue 29).

The same texts through the engine the default settings load (the served model's own engine.run, no server), cut
into passes of R rows for each R, the R's alternating within each round so that a shared machine's drift falls on
all of them alike; per R the median over rounds of the time for all the texts. Short texts are where the pass size
matters: a pass of 32 ten-token rows is a 320-token matrix product, too small to keep the cores' matrix units fed.

    .venv/bin/python -m bench.pass_size [--model-dir build/demo-embeddings] [--texts 256] [--rounds 7]

Writes bench/results/pass-size.{json,md} with the host.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench import report
from bench.run import ROOT, machine_meta

ROWS = (8, 16, 32, 64, 128, 256)
CAPS = (2048, 4096, 16384)  # MAX_BATCH_TOKENS values: rows per pass = min(256, cap // tokens)
MAX_ROWS = 256
LENGTHS = (10, 48, 128, 384)  # tokens per text, [CLS] and [SEP] included


def texts_of(tokenizer, tokens: int, count: int) -> dict[str, np.ndarray]:
    """`count` rows of exactly `tokens` tokens each, as the engine takes them."""
    words = " ".join(f"word{i % 50}" for i in range(4 * tokens))
    encoded = tokenizer([words] * count, truncation=True, max_length=tokens, padding="max_length", return_tensors="np")
    return {name: encoded[name].astype(np.int64) for name in tokenizer.model_input_names if name in encoded}


def time_passes(engine, feed: dict[str, np.ndarray], rows: int) -> float:
    total = len(feed["input_ids"])
    started = time.perf_counter()
    for start in range(0, total, rows):
        engine.run({name: array[start : start + rows] for name, array in feed.items()})
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=ROOT / "build" / "demo-embeddings")
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="pass-size")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "container"))
    from hf_serving.loading.loader import load_served_model
    from hf_serving.settings import Settings

    meta = machine_meta()
    served = load_served_model(args.model_dir, Settings(model_dir=args.model_dir))
    engine = served.engine
    results = []
    for tokens in LENGTHS:
        feed = texts_of(served.tokenizer, tokens, args.texts)  # type: ignore[attr-defined]  # every task has one
        for rows in ROWS:  # warm-up: each shape once
            time_passes(engine, feed, rows)
        capped = {cap: max(1, min(MAX_ROWS, cap // tokens)) for cap in CAPS}
        every = sorted(set(ROWS) | set(capped.values()))
        times: dict[int, list[float]] = {rows: [] for rows in every}
        for _ in range(args.rounds):
            for rows in every:
                times[rows].append(time_passes(engine, feed, rows))
        for rows in every:
            median = statistics.median(times[rows])
            results.append(
                {
                    "tokens": tokens,
                    "rows": rows,
                    "padded_tokens": rows * tokens,
                    "ms": round(1000 * median, 1),
                    "rows_per_s": round(args.texts / median, 1),
                    "caps": [cap for cap, r in capped.items() if r == rows],
                }
            )
            print(f"{tokens} tokens, passes of {rows} rows: {1000 * median:.1f} ms for {args.texts} texts", flush=True)
    result = {
        "meta": meta,
        "model_dir": str(args.model_dir),
        "engine": engine.description,
        "dtype": engine.dtype,
        "texts": args.texts,
        "rounds": args.rounds,
        "results": results,
    }
    report.write_results(args.out, args.name, result, markdown(result))
    return 0


def markdown(result: dict) -> str:
    meta = result["meta"]
    lines = [
        f"# Model pass size ({meta['started_utc']})",
        "",
        f"{meta['cpu']}, {meta['cores']} usable cores; commit {meta['commit']}. {result['engine']} "
        f"{result['dtype']}, {Path(result['model_dir']).name}; {result['texts']} texts per run, the median of "
        f"{result['rounds']} alternating rounds. Time for all the texts, and its ratio to passes of 32 rows "
        "(the cap before MAX_BATCH_TOKENS).",
        "",
        "| tokens per text | " + " | ".join(f"{rows} rows" for rows in ROWS) + " |",
        "|---|" + "---|" * len(ROWS),
    ]
    for tokens in LENGTHS:
        cells = {row["rows"]: row for row in result["results"] if row["tokens"] == tokens}
        base = cells[32]["ms"]
        lines.append(
            f"| {tokens} | "
            + " | ".join(f"{cells[rows]['ms']:.0f} ms ({cells[rows]['ms'] / base:.2f})" for rows in ROWS)
            + " |"
        )
    lines += [
        "",
        "As MAX_BATCH_TOKENS would cut them (rows per pass = min(256, cap / tokens)), against 32 rows:",
        "",
        "| tokens per text | " + " | ".join(f"cap {cap}" for cap in CAPS) + " |",
        "|---|" + "---|" * len(CAPS),
    ]
    for tokens in LENGTHS:
        rows_of = {row["rows"]: row for row in result["results"] if row["tokens"] == tokens}
        base = rows_of[32]["ms"]
        by_cap = [next(r for r in rows_of.values() if cap in r.get("caps", [])) for cap in CAPS]
        lines.append(
            f"| {tokens} | "
            + " | ".join(f"{r['rows']} rows: {r['ms']:.0f} ms ({r['ms'] / base:.2f})" for r in by_cap)
            + " |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
