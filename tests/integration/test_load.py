"""`make load` (load/README.md) against the real stack: locust runs clean, writes its CSV files and its HTML report,
and its count of requests is the stack's own: the increase of /metrics' hf_serving_requests_total."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import ROOT, Stack, model_dir_with_code

pytestmark = pytest.mark.integration

# What the locustfile reads from the environment: a developer's own settings must not steer this run.
LOCUST_ENV = (
    "ENDPOINT_NAME",
    "TARGET_MODEL",
    "PAYLOAD",
    "ACCEPT_STATUS",
    "SERVE_API_KEY",
    "MODEL",
    "LOAD_ARGS",
    "LOCUST_SKIP_MONKEY_PATCH",
)


def requests_total(stack: Stack, route: str) -> dict[str, float]:
    """hf_serving_requests_total for one route, by status code (summed over models)."""
    response = requests.get(f"{stack.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    by_code: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "hf_serving_requests_total" and sample.labels.get("route") == route:
                code = sample.labels["code"]
                by_code[code] = by_code.get(code, 0.0) + sample.value
    return by_code


def aggregated_row(stats_csv: Path) -> dict[str, str]:
    with stats_csv.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["Name"] == "Aggregated"]
    assert len(rows) == 1, stats_csv.read_text()
    return rows[0]


def report_data(report: Path) -> dict:
    """The data locust's HTML report draws its charts from (window.templateArgs, read by its bundled echarts)."""
    html = report.read_text()
    start = html.index("window.templateArgs = ") + len("window.templateArgs = ")
    data, _ = json.JSONDecoder().raw_decode(html, start)
    return data


def test_make_load_against_the_stack_matches_its_metrics(tmp_path):
    stack = Stack(model_dir_with_code(tmp_path), tmp_path / "serve.log").start()
    out = tmp_path / "load"
    try:
        stack.wait_ready()
        before = requests_total(stack, "/invocations")
        env = {name: value for name, value in os.environ.items() if name not in LOCUST_ENV}
        run = subprocess.run(
            ["make", "--no-print-directory", "load", f"URL={stack.url}", "USERS=4", "DURATION=10s", f"LOAD_OUT={out}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        after = requests_total(stack, "/invocations")
    finally:
        stack.terminate()

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert f"report {out}/report.html" in run.stdout  # the target says where its files are

    stats = aggregated_row(out / "locust_stats.csv")
    sent = int(stats["Request Count"])
    assert sent > 0
    assert int(stats["Failure Count"]) == 0
    assert (out / "locust_failures.csv").read_text().splitlines()[1:] == []
    assert (out / "locust_stats_history.csv").read_text().count("\n") > 2  # a row a second, and the header

    # The HTML report: its charts' definitions and the time series they plot, with the same totals as the CSV.
    report = out / "report.html"
    html = report.read_text()
    for chart in ("Total Requests per Second", "Response Times (ms)", "Number of Users"):
        assert chart in html
    data = report_data(report)
    assert data["is_report"] is True
    assert data["history"], "no points for the charts"
    assert max(point["current_rps"][1] for point in data["history"]) > 0
    assert max(point["user_count"][1] for point in data["history"]) == 4
    total = next(row for row in data["requests_statistics"] if row["name"] == "Aggregated")
    assert (total["num_requests"], total["num_failures"]) == (sent, 0)

    # Every request locust counted is one /invocations response the stack counted, each a 200, and no other.
    increase = {code: after.get(code, 0.0) - before.get(code, 0.0) for code in after.keys() | before.keys()}
    assert {code: count for code, count in increase.items() if count} == {"200": sent}, (before, after, sent)
