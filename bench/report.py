"""Turning the raw measurements of a run into summaries, the issue's goals, and a Markdown report."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from bench.loadgen import percentile
from bench.payloads import KIND_MODELS

BASELINE = "aws"
OURS = "ours"
PEER_NAMES = {"aws": "peer (a)", "flask": "peer (b)", "st-fastapi": "peer (c)", "ce-fastapi": "peer (d)"}
# (kind, concurrency, minimum req/s ratio of ours over the peer, p99 must also be lower, the peer)
THROUGHPUT_GOALS = (
    ("qa380", 4, 4.0, True, BASELINE),
    ("qa160", 4, 3.0, False, BASELINE),
    ("clf60", 4, 3.0, False, BASELINE),
    ("emb1", 4, 3.0, True, "st-fastapi"),
    ("emb8", 4, 3.0, True, "st-fastapi"),
    # issue 27, section 8
    ("ner128", 4, 3.0, True, BASELINE),
    ("zsl5", 4, 4.0, True, BASELINE),
    ("rerank20", 4, 3.0, True, "ce-fastapi"),
)
MAX_OVERHEAD_MS = 5.0
MAX_COLD_START_S = 15.0


def summarize(cells: list[dict], latencies: dict[tuple[str, str, int], list[float]]) -> dict:
    """Per server, kind and concurrency: req/s averaged over the passes, percentiles over all their requests."""
    summary: dict = {}
    for cell in cells:
        key = (cell["server"], cell["kind"], cell["concurrency"])
        entry = (
            summary.setdefault(cell["server"], {})
            .setdefault(cell["kind"], {})
            .setdefault(str(cell["concurrency"]), {"rps_per_pass": [], "errors": 0})
        )
        entry["rps_per_pass"].append(cell["rps"])
        entry["errors"] += cell["errors"]
        pooled = latencies.get(key, [])
        entry["requests"] = len(pooled)
        for q in (50, 95, 99):
            entry[f"p{q}_ms"] = round(percentile(pooled, q), 2) if pooled else None
    for kinds in summary.values():
        for levels in kinds.values():
            for entry in levels.values():
                rates = entry["rps_per_pass"]
                entry["rps"] = round(sum(rates) / len(rates), 2)
                entry["rps_per_pass"] = [round(rate, 2) for rate in rates]
    return summary


def _entry(summary: dict, server: str, kind: str, concurrency: int) -> dict | None:
    return summary.get(server, {}).get(kind, {}).get(str(concurrency))


def goals(summary: dict, starts: list[dict], overhead: dict) -> list[dict]:
    results = []
    for kind, concurrency, ratio, p99_lower, baseline in THROUGHPUT_GOALS:
        ours, peer = _entry(summary, OURS, kind, concurrency), _entry(summary, baseline, kind, concurrency)
        name = f"{kind} c={concurrency}: req/s vs {PEER_NAMES[baseline]}"
        if (
            ours is None
            and peer is not None
            and any(s["server"] == OURS and s["model"] == KIND_MODELS[kind] and "error" in s for s in starts)
        ):
            results.append(
                {
                    "goal": name,
                    "value": "no answer from ours (its start failed, see Starts)",
                    "target": f">= {ratio:g}x",
                    "met": False,
                }
            )
            continue
        if ours is None or peer is None:
            continue
        value = ours["rps"] / peer["rps"] if peer["rps"] else math.inf
        # Pass k of ours and of the peer ran one after the other (A B A B): each pass's ratio is a side-by-side
        # measure, and a goal is met only where every pass meets it. The mean of the passes alone would let other
        # load on a shared host, falling on one server's pass, decide the ratio.
        per_pass = [
            mine / theirs if theirs else math.inf
            for mine, theirs in zip(ours["rps_per_pass"], peer["rps_per_pass"], strict=False)
        ]
        text = f"{value:.2f}x"
        if len(per_pass) > 1:
            text += " (passes: " + ", ".join(f"{one:.2f}x" for one in per_pass) + ")"
        met = value >= ratio and all(one >= ratio for one in per_pass)
        results.append({"goal": name, "value": text, "target": f">= {ratio:g}x", "met": met})
        if p99_lower and ours["p99_ms"] is not None and peer["p99_ms"] is not None:
            results.append(
                {
                    "goal": f"{kind} c={concurrency}: p99 vs {PEER_NAMES[baseline]}",
                    "value": f"{ours['p99_ms']:.0f} ms vs {peer['p99_ms']:.0f} ms",
                    "target": "lower",
                    "met": ours["p99_ms"] < peer["p99_ms"],
                }
            )
    if "qa160" in overhead:
        value = overhead["qa160"]["overhead_p50_ms"]
        results.append(
            {
                "goal": "serving overhead, qa160 c=1 (p50 stack - p50 in-process)",
                "value": f"{value:.1f} ms",
                "target": f"<= {MAX_OVERHEAD_MS:g} ms",
                "met": value <= MAX_OVERHEAD_MS,
            }
        )
    ours_qa = [s for s in starts if s["server"] == OURS and s["model"] == "qa" and s.get("cold_start_s")]
    if ours_qa:
        worst = max(s["cold_start_s"] for s in ours_qa)
        results.append(
            {
                "goal": "cold start, ours on the demo QA model (worst start)",
                "value": f"{worst:.1f} s",
                "target": f"<= {MAX_COLD_START_S:g} s",
                "met": worst <= MAX_COLD_START_S,
            }
        )
    for model in ("qa", "clf"):
        ours_rss = [
            s["peak_rss_mb"] for s in starts if s["server"] == OURS and s["model"] == model and "error" not in s
        ]
        peer_rss = [
            s["peak_rss_mb"] for s in starts if s["server"] == BASELINE and s["model"] == model and "error" not in s
        ]
        if ours_rss and peer_rss:
            results.append(
                {
                    "goal": f"peak RSS of the whole stack, {model} model, vs peer (a)",
                    "value": f"{max(ours_rss):.0f} MB vs {max(peer_rss):.0f} MB",
                    "target": "not higher",
                    "met": max(ours_rss) <= max(peer_rss),
                }
            )
    return results


def variant_ratios(summary: dict, servers: list[str]) -> list[dict]:
    """The goals' req/s ratios for every other configuration of ours in the run (float32, int8, variants):
    for reference only, the goals are judged on the default configuration."""
    rows = []
    for server in servers:
        if server == OURS or not server.startswith(OURS):
            continue
        for kind, concurrency, ratio, _, baseline in THROUGHPUT_GOALS:
            mine, peer = _entry(summary, server, kind, concurrency), _entry(summary, baseline, kind, concurrency)
            if mine is None or peer is None:
                continue
            rows.append(
                {
                    "server": server,
                    "cell": f"{kind} c={concurrency}",
                    "peer": baseline,
                    "ratio": round(mine["rps"] / peer["rps"], 2) if peer["rps"] else math.inf,
                    "p99_ms": mine["p99_ms"],
                    "peer_p99_ms": peer["p99_ms"],
                    "goal_ratio": ratio,
                }
            )
    return rows


def reference_table(summary: dict, reference: list[dict], texts: dict[str, int]) -> dict:
    """Per embeddings kind: sentence-transformers' encode() in-process (the median of the passes), and beside
    it every server's sequences per second (req/s x texts per request) at each concurrency."""
    by_kind: dict[str, list[dict]] = {}
    for row in reference:
        by_kind.setdefault(row["kind"], []).append(row)
    table = {}
    for kind, rows in by_kind.items():
        table[kind] = {
            "texts": rows[0]["texts"],
            "passes": len(rows),
            **{
                key: round(statistics.median(row[key] for row in rows), 2)
                for key in ("ms_per_call", "p50_ms", "p99_ms", "seq_per_s")
            },
            "servers_seq_per_s": {
                server: {level: round(entry["rps"] * texts.get(kind, 1), 1) for level, entry in kinds[kind].items()}
                for server, kinds in summary.items()
                if kind in kinds
            },
        }
    return table


def overhead_table(summary: dict, inprocess: list[dict]) -> dict:
    """Stack latency at c=1 minus the same hooks in-process, per kind (p50 and mean of each side)."""
    by_kind: dict[str, list[dict]] = {}
    for row in inprocess:
        by_kind.setdefault(row["kind"], []).append(row)
    table = {}
    for kind, rows in by_kind.items():
        stack = _entry(summary, OURS, kind, 1)
        if stack is None or stack["p50_ms"] is None:
            continue
        in_p50 = sorted(row["p50_ms"] for row in rows)[len(rows) // 2]
        table[kind] = {
            "stack_p50_ms": stack["p50_ms"],
            "inprocess_p50_ms": round(in_p50, 2),
            "overhead_p50_ms": round(stack["p50_ms"] - in_p50, 2),
        }
    return table


def kind_label(kind: str, info: dict) -> str:
    """qa160 (164 tokens), emb8 (8 texts of <= 60 tokens), or rerank20 (20 pairs of <= 84 tokens): zero-shot and
    reranking requests are read as (text, hypothesis) and (query, passage) pairs."""
    if info.get("texts", 1) > 1:
        sequences = "pairs" if info.get("model") in ("nli", "rerank") else "texts"
        return f"{kind} ({info['texts']} {sequences} of <= {info['tokens']} tokens)"
    return f"{kind} ({info.get('tokens', '?')} tokens)"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def markdown(result: dict) -> str:
    meta, config, summary = result["meta"], result["config"], result["summary"]
    servers = [key for key in config["servers"] if key in summary]
    in_run = [key for key in config["servers"] if key in result["servers"]]
    labels = {key: result["servers"][key]["label"] for key in in_run}
    lines = [
        f"# Benchmark {meta['started_utc']}",
        "",
        f"{meta['cpu']}, {meta['cores']} usable cores; commit {meta['commit']}; load average at start "
        f"{meta['load_start']}, at end {meta.get('load_end')}. {config['passes']} pass(es) over the servers "
        "in the same order (A B A B), "
        f"{config['warmup_s']:g} s warm-up + {config['seconds']:g} s per cell; closed loop at concurrency "
        f"{', '.join(map(str, config['concurrency']))}.",
        "",
    ]
    if meta.get("command"):
        lines += [f"Command: `{meta['command']}`.", ""]
    if result["goals"]:
        lines += [
            "## Goals (ratios from this run)",
            "",
            "A throughput goal is met only where each pass's ratio meets it too: pass k of every server ran side by "
            "side (A B A B), and the mean of the passes alone would let load from outside the run, falling on one "
            "server's pass, decide it.",
            "",
            "| goal | value | target | met |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {g['goal']} | {g['value']} | {g['target']} | {'yes' if g['met'] else '**no**'} |"
            for g in result["goals"]
        ]
        lines.append("")
    if result.get("other_configurations"):
        lines += [
            "## Other configurations of ours against the peers",
            "",
            "Not the default, so not what the goals above judge; the same ratios, for reference.",
            "",
            "| configuration | request | peer | req/s vs the peer | goal for the default | p99 vs the peer |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {labels.get(row['server'], row['server'])} | {row['cell']} | "
            f"{PEER_NAMES[row.get('peer', BASELINE)]} | {row['ratio']:.2f}x | >= {row['goal_ratio']:g}x | "
            f"{_ms(row['p99_ms'])} vs {_ms(row['peer_p99_ms'])} |"
            for row in result["other_configurations"]
        ]
        lines.append("")
    lines += [
        "## Throughput and latency",
        "",
        "req/s is the mean over passes; percentiles pool every request of every pass (ms).",
        "",
        "| request | c | " + " | ".join(labels[s] for s in servers) + " |",
        "|---|---|" + "---|" * len(servers),
    ]
    for kind, info in config["kinds"].items():
        for concurrency in config["concurrency"]:
            row = []
            for server in servers:
                entry = _entry(summary, server, kind, concurrency)
                if entry is None:
                    row.append("-")
                    continue
                text = (
                    f"{entry['rps']:.1f}/s; p50 {entry['p50_ms']:.0f}, p95 {entry['p95_ms']:.0f}, "
                    f"p99 {entry['p99_ms']:.0f}"
                    if entry["p50_ms"] is not None
                    else "no answer"
                )
                if entry["errors"]:
                    text += f"; **{entry['errors']} errors**"
                row.append(text)
            lines.append(f"| {kind_label(kind, info)} | {concurrency} | " + " | ".join(row) + " |")
    lines += [
        "",
        "## Starts",
        "",
        "Cold start: process start to the first /ping 200. First answer: to the first "
        "200 from /invocations (multi-model-server's /ping says 200 before the model is loaded).",
        "",
        "Stop: SIGTERM to the launcher until every process it started is gone (SIGKILL after 30 s).",
        "",
        "Load before: the load average (1, 5, 15 min) just before the server started.",
        "",
        "| server | model | pass | load before | cold start | first answer | peak RSS (all processes) | stop "
        "| exit | outlived the launcher | killed after 30 s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for start in result["starts"]:
        load = " / ".join(f"{x:.1f}" for x in start["load_before"]) if start.get("load_before") else "-"
        if "error" in start:
            lines.append(
                f"| {start['server']} | {start['model']} | {start['pass']} | {load} | **failed: "
                f"{start['error']}** | | | | | | |"
            )
            continue
        lines.append(
            f"| {labels.get(start['server'], start['server'])} | {start['model']} | {start['pass']} | "
            f"{load} | {start['cold_start_s']:.1f} s | {start['first_answer_s']:.1f} s | "
            f"{start['peak_rss_mb']:.0f} MB | {start['stop_s']:.1f} s | {start['exit_code']} | "
            f"{', '.join(start['outlived_launcher']) or 'nothing'} | "
            f"{', '.join(start['killed_after_grace']) or 'nothing'} |"
        )
    if result.get("model_reference"):
        lines += [
            "",
            "## Embeddings: model only (sentence-transformers' encode() in-process)",
            "",
            "The same texts through `SentenceTransformer.encode()` in a process of its own, no server, default "
            "torch threads (the median of the passes); beside it, what each server delivered in sequences "
            "per second (req/s x texts per request) at each concurrency.",
            "",
            "| request | encode() ms per call (mean, p50) | encode() seq/s | "
            + " | ".join(f"{labels[s]} seq/s" for s in servers)
            + " |",
            "|---|---|---|" + "---|" * len(servers),
        ]
        for kind, row in result["model_reference"].items():
            cells = []
            for server in servers:
                levels = row["servers_seq_per_s"].get(server)
                cells.append(
                    ", ".join(f"{value:.1f} at c={level}" for level, value in levels.items()) if levels else "-"
                )
            lines.append(
                f"| {kind_label(kind, config['kinds'].get(kind, {}))} | {row['ms_per_call']:.1f}, "
                f"{row['p50_ms']:.1f} | {row['seq_per_s']:.1f} | " + " | ".join(cells) + " |"
            )
    if result["overhead"]:
        lines += [
            "",
            "## Serving overhead (ours, default configuration)",
            "",
            "| request | stack p50 at c=1 | same hooks in-process p50 | overhead |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {kind} | {row['stack_p50_ms']:.1f} ms | {row['inprocess_p50_ms']:.1f} ms | "
            f"{row['overhead_p50_ms']:.1f} ms |"
            for kind, row in result["overhead"].items()
        ]
    client = result["loadgen"]
    lines += [
        "",
        "## Load generator",
        "",
        f"{client['cpu_s']:.1f} s of CPU for {client['requests']} requests over {client['wall_s']:.0f} s "
        f"of load: {client['cpu_ms_per_request']:.2f} ms per request, {100 * client['cpu_share']:.1f}% of "
        "one core on average (its threads' CPU time). The RSS sampler took "
        f"{client['rss_sampler_cpu_s']:.1f} s of CPU over {client['servers_up_s']:.0f} s of servers running.",
        "",
        "## Servers",
        "",
    ]
    lines += [
        f"- **{labels[key]}**: {result['servers'][key]['description']}"
        + (f" (serves: {', '.join(result['servers'][key]['models'])})" if "models" in result["servers"][key] else "")
        for key in in_run
    ]
    if result.get("not_served"):
        lines += [
            "",
            "Not run, the server does not serve that model: "
            + ", ".join(f"{labels.get(s['server'], s['server'])} x {s['model']}" for s in result["not_served"])
            + ".",
        ]
    lines.append("")
    return "\n".join(lines)


def write_results(out: Path, name: str, result: dict, text: str) -> None:
    """An in-process bench's results: `result` as <out>/<name>.json, `text` as .md, and the text printed."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / name
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    stem.with_suffix(".md").write_text(text)
    print(text)
