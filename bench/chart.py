"""One PNG from a results JSON: req/s (left) and p99 latency (right) per server, request kind and concurrency.

Run in the chart venv (bench/peers/setup.sh builds it; matplotlib stays out of the container), from the
repository root:
    build/bench-venvs/chart/bin/python -m bench.chart bench/results/latest.json bench/results/latest.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {
    "ours": "#1b7837",
    "ours-int8": "#00441b",
    "ours-fp32": "#7fbf7b",
    "aws": "#d95f02",
    "flask": "#7570b3",
    "st-fastapi": "#e7298a",
}


def _size(info: dict) -> str:
    texts = info.get("texts", 1)
    return f"{texts}x{info['tokens']} tok" if texts > 1 else f"{info['tokens']} tok"


def main(results_path: str, png_path: str) -> int:
    result = json.loads(Path(results_path).read_text())
    config, summary = result["config"], result["summary"]
    servers = [key for key in config["servers"] if key in summary]
    groups = [(kind, c) for kind in config["kinds"] for c in config["concurrency"]]
    width = 0.8 / max(1, len(servers))
    figure, (rps_axis, p99_axis) = plt.subplots(1, 2, figsize=(14, 5.5))
    for index, server in enumerate(servers):
        rps, p99 = [], []
        for kind, concurrency in groups:
            entry = summary[server].get(kind, {}).get(str(concurrency))
            rps.append(entry["rps"] if entry else 0.0)
            p99.append(entry["p99_ms"] if entry and entry["p99_ms"] is not None else 0.0)
        positions = [g + (index - (len(servers) - 1) / 2) * width for g in range(len(groups))]
        label = result["servers"][server]["label"]
        colour = COLOURS.get(server)
        bars = rps_axis.bar(positions, rps, width, label=label, color=colour)
        rps_axis.bar_label(bars, fmt="%.1f", fontsize=7)
        bars = p99_axis.bar(positions, p99, width, label=label, color=colour)
        p99_axis.bar_label(bars, fmt="%.0f", fontsize=7)
    names = [f"{kind}\n{_size(config['kinds'][kind])}, c={c}" for kind, c in groups]
    for axis, title in (
        (rps_axis, "throughput (req/s, higher is better)"),
        (p99_axis, "p99 latency (ms, log scale, lower is better)"),
    ):
        axis.set_xticks(range(len(groups)), names, fontsize=8)
        axis.set_title(title)
        axis.grid(axis="y", alpha=0.3)
    p99_axis.set_yscale("log")
    rps_axis.legend(fontsize=8)
    meta = result["meta"]
    figure.suptitle(
        f"hf-serving benchmark {meta['started_utc']}: {meta['cores']} cores, commit {meta['commit']}, "
        f"{config['passes']} pass(es) x {config['seconds']:g} s per cell",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(png_path, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
