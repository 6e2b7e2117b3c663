"""Two configurations of ours side by side (a feature on, the same stack with it off) in bench.run's alternating
passes: the ratio of their req/s at concurrency 4 per request kind, and its table. Used by the benchmarks of what a
feature costs (bench/metrics_overhead.py, bench/capture_overhead.py)."""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from bench import run


def arguments(argv: list[str], description: str, name: str, kinds: str) -> argparse.Namespace:
    """The options both cost benchmarks take: passes, seconds, warm-up, kinds, where results go."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", default="4")
    parser.add_argument("--seconds", default="20")
    parser.add_argument("--warmup", default="3")
    parser.add_argument("--kinds", default=kinds)
    parser.add_argument("--out", type=Path, default=run.ROOT / "bench" / "results")
    parser.add_argument("--name", default=name)
    parser.add_argument("--report-only", action="store_true", help="rewrite the ratios of the last run's JSON")
    return parser.parse_args(argv)


def measure(args: argparse.Namespace, on_key: str, off_key: str) -> dict:
    """bench.run with both configurations in alternating passes at concurrency 4 (unless --report-only), and its
    JSON result."""
    if not args.report_only:
        run.main(
            [
                "--servers",
                f"{off_key},{on_key}",
                "--kinds",
                args.kinds,
                "--concurrency",
                "4",
                "--passes",
                args.passes,
                "--seconds",
                args.seconds,
                "--warmup",
                args.warmup,
                "--no-overhead",
                "--out",
                str(args.out),
                "--name",
                args.name,
            ]
        )
    return json.loads((args.out / f"{args.name}.json").read_text())


def append_section(args: argparse.Namespace, section: str, text: str) -> None:
    """bench.run's report with this section at its end, replacing one an earlier --report-only wrote."""
    report = args.out / f"{args.name}.md"
    before = report.read_text().split(section)[0].rstrip("\n")
    report.write_text(before + "\n\n" + text)
    print(text)


def ratios(summary: dict, on_key: str, off_key: str) -> list[dict]:
    """Per request kind both served: req/s on and off, their ratio, and the median of the passes' own ratios (each
    pass ran both within minutes of each other, so the median resists a shared machine's drift)."""
    rows = []
    for kind, on in summary.get(on_key, {}).items():
        off = summary.get(off_key, {}).get(kind)
        if off is None:
            continue
        per_pass = [a / b for a, b in zip(on["4"]["rps_per_pass"], off["4"]["rps_per_pass"], strict=True) if b]
        rows.append(
            {
                "kind": kind,
                "rps_on": on["4"]["rps"],
                "rps_off": off["4"]["rps"],
                "ratio": on["4"]["rps"] / off["4"]["rps"],
                "median_pass_ratio": statistics.median(per_pass),
                "pass_ratios": per_pass,
                "p99_on": on["4"]["p99_ms"],
                "p99_off": off["4"]["p99_ms"],
            }
        )
    return rows


def table(rows: list[dict], section: str, cpu: str, on_name: str, goal: float) -> str:
    lines = [
        section,
        "",
        f"Host: {cpu}.",
        "",
        f"| request | req/s {on_name} | req/s off | {on_name} / off | median of the passes' ratios | passes |"
        f" p99 {on_name} / off (ms) | goal >= {goal:g} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = "yes" if row["median_pass_ratio"] >= goal else "**no**"
        lines.append(
            f"| {row['kind']} | {row['rps_on']:.1f} | {row['rps_off']:.1f} | {row['ratio']:.3f} | "
            f"{row['median_pass_ratio']:.3f} | {', '.join(f'{r:.3f}' for r in row['pass_ratios'])} | "
            f"{row['p99_on']:.0f} / {row['p99_off']:.0f} | {met} |"
        )
    return "\n".join(lines) + "\n"
