"""make bench-protocols: what a protocol's route costs over /invocations. One stack of ours on the real
all-MiniLM-L6-v2; the same 8 texts embedded through /invocations, OpenAI's /v1/embeddings (floats, and base64 as its
SDK asks by default), TEI's /embed and KServe v2's /infer, at concurrency 4, in alternating passes so that a noisy
neighbour hits every route alike. Each route's req/s is given as a ratio to /invocations' in the same pass.

    .venv/bin/python -m bench.protocols [--passes 3] [--seconds 15] [--concurrency 4]

Writes bench/results/protocols-latest.{json,md}, with the host they ran on.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import loadgen, run, servers
from bench.payloads import TEXTS

DIM = 384


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    body: bytes
    vectors: Callable[[object], list]  # the answer's vectors, for the check that every answer is whole


def _floats(vectors: object) -> list:
    return vectors if isinstance(vectors, list) else []


def _base64(answer: object) -> list:
    data = answer["data"] if isinstance(answer, dict) else []
    return [base64.b64decode(item["embedding"]) for item in data]


ROUTES = (
    Route("/invocations", "/invocations", json.dumps({"inputs": list(TEXTS)}).encode(), _floats),
    Route(
        "/v1/embeddings float",
        "/v1/embeddings",
        json.dumps({"model": "m", "input": list(TEXTS), "encoding_format": "float"}).encode(),
        lambda answer: [item["embedding"] for item in answer["data"]] if isinstance(answer, dict) else [],
    ),
    Route(
        "/v1/embeddings base64",
        "/v1/embeddings",
        json.dumps({"model": "m", "input": list(TEXTS), "encoding_format": "base64"}).encode(),
        _base64,
    ),
    Route("/embed (TEI)", "/embed", json.dumps({"inputs": list(TEXTS)}).encode(), _floats),
    Route(
        "/v2/models/model/infer",
        "/v2/models/model/infer",
        json.dumps(
            {"inputs": [{"name": "text", "shape": [len(TEXTS)], "datatype": "BYTES", "data": list(TEXTS)}]}
        ).encode(),
        lambda answer: (
            [answer["outputs"][0]["data"][i * DIM : (i + 1) * DIM] for i in range(len(TEXTS))]
            if isinstance(answer, dict)
            else []
        ),
    ),
)


def whole(route: Route) -> Callable[[object], bool]:
    def check(answer: object) -> bool:
        try:
            found = route.vectors(answer)
        except (KeyError, TypeError, ValueError):
            return False
        return len(found) == len(TEXTS)

    return check


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, default=run.ROOT / "bench" / "results")
    parser.add_argument("--name", default="protocols-latest")
    args = parser.parse_args(argv)
    meta = {**run.machine_meta(), "passes": args.passes, "seconds": args.seconds, "concurrency": args.concurrency}
    cells: dict[str, list[dict]] = {route.name: [] for route in ROUTES}
    with tempfile.TemporaryDirectory() as work:
        server = servers.RunningServer(servers.server_spec("ours"), "emb", Path(work), Path(work) / "serve.log")
        try:
            server.wait_ping()
            server.wait_first_answer(ROUTES[0].body)
            for route in ROUTES:  # each route's first answer, its adapter imported, outside the timed cells
                loadgen.run_closed_loop(
                    "127.0.0.1", server.port, route.path, route.body, args.concurrency, args.warmup, whole(route)
                )
            for _ in range(args.passes):
                for route in ROUTES:
                    result = loadgen.run_closed_loop(
                        "127.0.0.1", server.port, route.path, route.body, args.concurrency, args.seconds, whole(route)
                    )
                    cells[route.name].append(
                        {
                            "rps": round(result.rps, 2),
                            "p50_ms": round(loadgen.percentile(result.latencies_ms, 50), 1),
                            "p99_ms": round(loadgen.percentile(result.latencies_ms, 99), 1),
                            "errors": result.errors,
                            "invalid": result.invalid,
                            "error_samples": result.error_samples,
                        }
                    )
        finally:
            server.stop()
    summary = summarize(cells)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(
        json.dumps({"meta": meta, "cells": cells, "summary": summary}, indent=2) + "\n"
    )
    text = report(meta, summary)
    (args.out / f"{args.name}.md").write_text(text)
    print(text)
    return 0 if all(cell["errors"] == 0 and cell["invalid"] == 0 for route in cells.values() for cell in route) else 1


def summarize(cells: dict[str, list[dict]]) -> list[dict]:
    native = cells[ROUTES[0].name]
    rows = []
    for route in ROUTES:
        passes = cells[route.name]
        ratios = [cell["rps"] / base["rps"] for cell, base in zip(passes, native, strict=True) if base["rps"]]
        rows.append(
            {
                "route": route.name,
                "rps": round(statistics.median(cell["rps"] for cell in passes), 2),
                "p50_ms": statistics.median(cell["p50_ms"] for cell in passes),
                "p99_ms": statistics.median(cell["p99_ms"] for cell in passes),
                "ratio": round(statistics.median(ratios), 3) if ratios else None,
                "pass_ratios": [round(ratio, 3) for ratio in ratios],
                "errors": sum(cell["errors"] + cell["invalid"] for cell in passes),
            }
        )
    return rows


def report(meta: dict, rows: list[dict]) -> str:
    lines = [
        "# What a protocol's route costs over /invocations",
        "",
        f"Host: {meta['cpu']}, {meta['cores']} cores; commit {meta['commit']}; {meta['started_utc']}. The real "
        f"all-MiniLM-L6-v2, 8 texts a request, concurrency {meta['concurrency']}, {meta['passes']} passes of "
        f"{meta['seconds']:g} s per route, the routes alternating within each pass; medians over the passes.",
        "",
        "| route | req/s | over /invocations (median of the passes) | passes | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['route']} | {row['rps']:.1f} | {row['ratio']:.3f} | "
            f"{', '.join(f'{ratio:.3f}' for ratio in row['pass_ratios'])} | {row['p50_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['errors']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
