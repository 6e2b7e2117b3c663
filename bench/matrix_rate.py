"""The share of the host's own bf16 matrix rate a server delivers end to end (issue 29): what is left between the
silicon and the answers, on whatever CPU the run is on.

The rate is torch's bf16 matrix product, 384x3072 @ 3072x3072 on the run's cores, measured in a subprocess (this
process never imports torch) at the start and at the end of the run: the host is shared, so the figure belongs with
the run it was measured in. A request's work is its encoder's matrix products counted from the model's config, per
text, without padding (what the request needs, not what a server chose to compute):

    FLOPs(n tokens) = 2 n L (4 d^2 + 2 d f + 2 n d)      L layers, d hidden size, f feed-forward size

(the attention's projections, its two products over n tokens, and the feed-forward), about 34.5 GFLOP for DistilBERT
at 376 tokens. The share is req/s x FLOPs a request / the matrix rate: 1.0 would be a server that spends every cycle
of its cores in matrix products as fast as torch's bf16 one.

    .venv/bin/python -m bench.matrix_rate [--seconds 3]     # the host's rate alone
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

SHAPE = (384, 3072, 3072)  # m, k, n: a 384-token batch through a 3072-wide layer

_MEASURE = """
import json, sys, time
import torch
m, k, n, seconds, threads = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
                             int(sys.argv[5]))
torch.set_num_threads(threads)
a = torch.randn(m, k, dtype=torch.bfloat16)
b = torch.randn(k, n, dtype=torch.bfloat16)
for _ in range(3):
    a @ b
rates = []
deadline = time.perf_counter() + seconds
while time.perf_counter() < deadline:
    started = time.perf_counter()
    for _ in range(5):
        a @ b
    rates.append(5 * 2 * m * k * n / (time.perf_counter() - started))
rates.sort()
print(json.dumps({"median": rates[len(rates) // 2], "best": rates[-1], "samples": len(rates)}))
"""


def measure(
    seconds: float = 3.0, threads: int | None = None, shape: tuple[int, int, int] = SHAPE, python: str = sys.executable
) -> dict:
    """The host's bf16 matrix rate in FLOP/s (median and best of 5-product samples over `seconds`)."""
    threads = threads or len(os.sched_getaffinity(0))
    done = subprocess.run(
        [python, "-c", _MEASURE, *map(str, shape), str(seconds), str(threads)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    rate = json.loads(done.stdout)
    return {**rate, "threads": threads, "shape": list(shape)}


def encoder_dims(model_dir: Path) -> tuple[int, int, int]:
    """(layers, hidden size, feed-forward size) from a transformers config.json (BERT's or DistilBERT's names)."""
    config = json.loads((model_dir / "config.json").read_text())
    layers = config.get("num_hidden_layers") or config.get("n_layers")
    hidden = config.get("hidden_size") or config.get("dim")
    feed_forward = config.get("intermediate_size") or config.get("hidden_dim")
    if not (layers and hidden and feed_forward):
        raise ValueError(f"{model_dir / 'config.json'} names no layers, hidden size and feed-forward size")
    return int(layers), int(hidden), int(feed_forward)


def text_flops(tokens: int, dims: tuple[int, int, int]) -> float:
    layers, hidden, feed_forward = dims
    return 2.0 * tokens * layers * (4 * hidden * hidden + 2 * hidden * feed_forward + 2 * tokens * hidden)


def request_flops(lengths: tuple[int, ...] | list[int], dims: tuple[int, int, int]) -> float:
    """A request's matrix FLOPs: each text (or pair, or window) through the encoder at its own length."""
    return sum(text_flops(tokens, dims) for tokens in lengths)


def shares(summary: dict, flops: dict[str, float], rate: float, concurrency: int) -> list[dict]:
    """Each server's and request kind's req/s as a share of the matrix rate (summary: report.summarize's)."""
    rows = []
    for server, kinds in summary.items():
        for kind, by_concurrency in kinds.items():
            cell = by_concurrency.get(str(concurrency)) or by_concurrency.get(concurrency)
            if not cell or kind not in flops or not rate:
                continue
            delivered = cell["rps"] * flops[kind]
            rows.append(
                {
                    "server": server,
                    "kind": kind,
                    "rps": cell["rps"],
                    "gflop_per_request": round(flops[kind] / 1e9, 2),
                    "delivered_tflops": round(delivered / 1e12, 3),
                    "share": round(delivered / rate, 3),
                }
            )
    return rows


def markdown(rows: list[dict], rates: list[dict], concurrency: int) -> str:
    """The report's section: the host's rate as measured at the run's start and end, each cell's share of it."""
    if not rows:
        return ""
    rate = sum(r["median"] for r in rates) / len(rates)
    lines = [
        f"## Share of the host's bf16 matrix rate, concurrency {concurrency}",
        "",
        "torch's bf16 " + f"{SHAPE[0]}x{SHAPE[1]} @ {SHAPE[1]}x{SHAPE[2]} on {rates[0]['threads']} threads, "
        "measured at the run's start and end: "
        + ", ".join(f"{r['median'] / 1e12:.2f}" for r in rates)
        + " TFLOP/s (median of 5-product samples). A request's work: its encoder's matrix products per text, "
        "without padding (bench/matrix_rate.py).",
        "",
        "| server | request | req/s | GFLOP a request | TFLOP/s delivered | share of the matrix rate |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['server']} | {row['kind']} | {row['rps']:.1f} | {row['gflop_per_request']:.2f} | "
            f"{row['delivered_tflops']:.3f} | {row['share']:.2f} |"
        )
    lines.append("")
    lines.append(f"(The rate used: the mean of the two, {rate / 1e12:.2f} TFLOP/s.)")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    rate = measure(args.seconds)
    print(
        f"bf16 {SHAPE[0]}x{SHAPE[1]} @ {SHAPE[1]}x{SHAPE[2]} on {rate['threads']} threads: "
        f"{rate['median'] / 1e12:.2f} TFLOP/s median, {rate['best'] / 1e12:.2f} best ({rate['samples']} samples)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
