"""Where our workers' time goes during a benchmark cell: inside the model (the engine's passes) or outside it.

Read from our own /metrics before and after each cell (issue 29): the engine's seconds
(hf_serving_model_pass_duration_seconds), the per-request stage seconds (tokenise, inference, encode, queue) and the
workers serving. Over a cell of W seconds with N workers, `model_busy` = engine seconds / (W x N) is the share of the
workers' time spent in model passes: at a concurrency that keeps them busy, 1 - model_busy is the outside share
(tokenising, padding, decoding answers, JSON, the model server's hop) that a faster engine cannot shorten. At
concurrency 1, `model_share_of_latency` = engine seconds / the sum of the client's latencies is the same split as one
client sees it (nginx and the network included in the outside part). A peer without our /metrics gets no split.
"""

from __future__ import annotations

import http.client
import re

_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>[0-9.eE+-]+|NaN)$")
_STAGE = re.compile(r'stage="([a-z]+)"')
STAGES = ("queue", "tokenise", "inference", "encode")


def scrape(port: int, timeout_s: float = 5.0) -> dict[str, float] | None:
    """The sums this split needs, from GET /metrics; None where the server has no such metrics (a peer)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
    except OSError:
        return None
    finally:
        connection.close()
    if response.status != 200 or "hf_serving_model_pass_duration_seconds" not in text:
        return None
    return sums(text)


def sums(text: str) -> dict[str, float]:
    """Prometheus text format -> the engine's seconds and passes, each stage's seconds and count, workers ready."""
    found: dict[str, float] = {"model_s": 0.0, "passes": 0.0, "workers": 0.0}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, labels, value = match["name"], match["labels"] or "", float(match["value"])
        if name == "hf_serving_model_pass_duration_seconds_sum":
            found["model_s"] += value
        elif name == "hf_serving_model_pass_duration_seconds_count":
            found["passes"] += value
        elif name == "hf_serving_workers_ready":
            found["workers"] += value
        elif name.startswith("hf_serving_stage_duration_seconds_") and (stage := _STAGE.search(labels)):
            suffix = name.rsplit("_", 1)[1]
            if suffix in ("sum", "count"):
                key = f"{stage.group(1)}_{'s' if suffix == 'sum' else 'n'}"
                found[key] = found.get(key, 0.0) + value
    return found


def split(
    before: dict[str, float] | None, after: dict[str, float] | None, wall_s: float, latency_sum_ms: float
) -> dict | None:
    """One cell's split from the scrapes around it; None without both."""
    if before is None or after is None or wall_s <= 0:
        return None
    grew = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
    requests = grew.get("inference_n", 0.0)
    workers = after.get("workers", 0.0) or 1.0
    result: dict = {
        "workers": int(workers),
        "passes": int(grew["passes"]),
        "model_busy": round(grew["model_s"] / (wall_s * workers), 3),
        "model_share_of_latency": round(1000 * grew["model_s"] / latency_sum_ms, 3) if latency_sum_ms else None,
        "model_ms_per_pass": round(1000 * grew["model_s"] / grew["passes"], 2) if grew["passes"] else None,
    }
    if requests:
        result["stage_ms_per_request"] = {
            stage: round(1000 * grew.get(f"{stage}_s", 0.0) / requests, 2) for stage in STAGES if grew.get(f"{stage}_n")
        }
    return result


def markdown(cells: list[dict], labels: dict[str, str]) -> str:
    """The table of every cell that has a split, averaged over passes."""
    rows: dict[tuple[str, str, int], list[dict]] = {}
    for cell in cells:
        if cell.get("time_split"):
            rows.setdefault((cell["server"], cell["kind"], cell["concurrency"]), []).append(cell["time_split"])
    if not rows:
        return ""
    lines = [
        "## Where our workers' time goes (bench/time_split.py)",
        "",
        "From /metrics around each cell, the mean over passes. `model busy`: the engine's seconds over the "
        "cell's seconds x workers (at concurrency 4 the workers are busy throughout: 1 - it is the share spent "
        "outside the model). `model / latency`: the engine's seconds over the sum of the client's latencies "
        "(concurrency 1: one request's split as its client sees it). Stages per request from Server-Timing's "
        "sources (a request in a shared pass counts the whole pass).",
        "",
        "| server | request | c | model busy | model / latency | ms per pass | tokenise | inference | encode | queue |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (server, kind, concurrency), splits in rows.items():

        def mean(key: str, found: list[dict] = splits) -> float | None:
            values = [s[key] for s in found if s.get(key) is not None]
            return sum(values) / len(values) if values else None

        def stage(name: str, found: list[dict] = splits) -> str:
            values = [s["stage_ms_per_request"][name] for s in found if name in s.get("stage_ms_per_request", {})]
            return f"{sum(values) / len(values):.1f}" if values else "-"

        busy, share, per_pass = mean("model_busy"), mean("model_share_of_latency"), mean("model_ms_per_pass")
        lines.append(
            f"| {labels.get(server, server)} | {kind} | {concurrency} | "
            f"{'-' if busy is None else f'{busy:.2f}'} | {'-' if share is None else f'{share:.2f}'} | "
            f"{'-' if per_pass is None else f'{per_pass:.1f}'} | {stage('tokenise')} | {stage('inference')} | "
            f"{stage('encode')} | {stage('queue')} |"
        )
    return "\n".join(lines) + "\n"
