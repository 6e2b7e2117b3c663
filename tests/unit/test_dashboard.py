"""deploy/grafana/hf-serving-dashboard.json and deploy/prometheus/ without a stack: the dashboard's structure, and
every metric and label the dashboard and the alerting rules name is one docs/reference/metrics.md lists (a misspelt
name would make a panel silently empty, an alert silently never fire). promtool checks the rules and the config, and
runs alerts.test.yml. tests/integration/test_observability_prometheus.py runs every expression against a live
stack."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.support import promql
from tests.support.promql import (
    ALERT_TESTS,
    ALERTS,
    PROMETHEUS_CONFIG,
    dashboard_exprs,
    documented_metrics,
    load_dashboard,
    load_rules,
    panels,
    rule_exprs,
    series_labels,
    substitute,
    uses,
)

DASHBOARD = load_dashboard()
METRICS = documented_metrics()
DASHBOARD_EXPRS = dashboard_exprs(DASHBOARD)
RULE_EXPRS = rule_exprs()
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def test_the_metric_table_is_read():
    assert len(METRICS) >= 15
    assert METRICS["hf_serving_requests_total"].labels == {"route", "kind", "code", "model"}
    assert METRICS["hf_serving_request_duration_seconds"].type == "histogram"
    assert METRICS["hf_serving_ready"].labels == frozenset()


def test_the_dashboard_is_a_grafana_dashboard_with_a_datasource_and_a_model_variable():
    assert 36 <= DASHBOARD["schemaVersion"] <= 41
    assert DASHBOARD["uid"] and DASHBOARD["title"] and DASHBOARD["id"] is None
    variables = {variable["name"]: variable for variable in DASHBOARD["templating"]["list"]}
    assert set(variables) == {"datasource", "model"}
    assert (variables["datasource"]["type"], variables["datasource"]["query"]) == ("datasource", "prometheus")
    model = variables["model"]
    assert model["type"] == "query" and model["datasource"] == DATASOURCE
    assert model["definition"] == model["query"]["query"] == "label_values(hf_serving_requests_total, model)"
    assert "model" in METRICS["hf_serving_requests_total"].labels
    # "All" is a regex that matches every model, the empty one (a request that named none) included.
    assert (model["includeAll"], model["allValue"], model["multi"]) == (True, ".*", True)


def test_every_panel_has_targets_with_an_expression_on_the_datasource_variable():
    ids = [panel["id"] for panel in panels(DASHBOARD)]
    assert len(ids) == len(set(ids))
    shown = [panel for panel in panels(DASHBOARD) if panel["type"] != "row"]
    assert len(shown) >= 13
    for panel in shown:
        assert panel["title"] and panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert isinstance(target["expr"], str) and target["expr"].strip(), panel["title"]


def test_panels_fit_the_grid_without_overlapping():
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(DASHBOARD):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize(("title", "expr"), DASHBOARD_EXPRS, ids=[title for title, _ in DASHBOARD_EXPRS])
def test_dashboard_expressions_use_only_grafanas_interval_and_the_model_variable(title, expr):
    assert "$" not in substitute(expr), expr
    # Every selector of a metric with a model label follows the variable, as a regex ("All" is .*).
    for metric, matchers in uses(expr).selectors:
        labels = series_labels(metric, METRICS)
        if labels is not None and "model" in labels:
            assert ("model", "=~", "$model") in matchers, f"{metric} in {title} does not filter on $model"


@pytest.mark.parametrize(
    ("name", "expr"), DASHBOARD_EXPRS + RULE_EXPRS, ids=[name for name, _ in DASHBOARD_EXPRS + RULE_EXPRS]
)
def test_every_metric_and_label_is_one_the_metrics_doc_lists(name, expr):
    used = uses(substitute(expr))
    assert used.metrics, expr
    available: set[str] = set()
    for metric, matchers in used.selectors:
        labels = series_labels(metric, METRICS)
        assert labels is not None, f"{metric} ({name}) is no series of docs/reference/metrics.md"
        for label, _, _ in matchers:
            assert label in labels, f"{metric} has no label {label} ({name})"
        available |= labels
    assert used.grouping <= available, f"{name} groups by {used.grouping - available}, which its metrics lack"
    if "histogram_quantile" in expr:
        assert "le" in used.grouping and all(metric.endswith("_bucket") for metric in used.metrics), expr


def test_the_dashboard_shows_every_documented_metric():
    used = {metric for _, expr in DASHBOARD_EXPRS for metric in uses(substitute(expr)).metrics}
    bases = {re.sub(r"_(bucket|sum|count)$", "", metric) if metric not in METRICS else metric for metric in used}
    assert bases == set(METRICS)


def test_the_dashboard_has_the_panels_operators_look_for():
    titles = {panel["title"] for panel in panels(DASHBOARD)}
    for wanted in (
        "Throughput by route",
        "Errors by status code (non-2xx)",
        "End to end latency (invocations)",
        "Latency per stage",
        "Batch sizes",
        "Tokens per request",
        "In flight and queue",
        "Workers ready",
        "Models loaded",
        "Model load time",
        "Worker restarts",
        "Admission refusals by reason",
        "Ready",
        "Predicted classes (share)",
        "Prediction confidence",
        "Input tokens per item",
    ):
        assert wanted in titles
    by_title = {panel["title"]: [t["expr"] for t in panel.get("targets", [])] for panel in panels(DASHBOARD)}
    for title, quantiles in (
        ("End to end latency (invocations)", ("0.5", "0.95", "0.99")),
        ("Latency per stage", ("0.5", "0.95", "0.99")),
        ("Tokens per request", ("0.5", "0.95")),
        ("Model load time", ("0.95",)),
        ("Prediction confidence", ("0.1", "0.5")),
        ("Input tokens per item", ("0.5", "0.95")),
    ):
        for quantile in quantiles:
            assert any(expr.startswith(f"histogram_quantile({quantile},") for expr in by_title[title]), title


def test_every_rule_is_an_alert_with_a_severity_a_summary_and_a_description():
    rules = load_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    assert {
        "HfServing5xxRateHigh",
        "HfServingLatencyHigh",
        "HfServingNotReady",
        "HfServingWorkerRestarts",
        "HfServingAdmissionRefusals",
    } <= set(names)
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
    durations = {rule["alert"]: rule.get("for") for rule in rules}
    assert durations["HfServing5xxRateHigh"] == durations["HfServingNotReady"] == "5m"
    assert durations["HfServingLatencyHigh"] == durations["HfServingAdmissionRefusals"] == "10m"


def test_the_prometheus_config_scrapes_metrics_with_the_rules():
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert config["rule_files"] == [ALERTS.name]
    (job,) = config["scrape_configs"]
    assert (job["job_name"], job["metrics_path"]) == ("hf-serving", "/metrics")
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:8080"]  # scripts/observe.sh's placeholder
    assert config["global"]["scrape_interval"] == "15s"
    # HfServingNotReady reads the scrape's own up series by this job's name.
    assert 'up{job="hf-serving"}' in dict(RULE_EXPRS)["HfServingNotReady"]


@pytest.mark.parametrize(
    "check",
    [["check", "rules", str(ALERTS)], ["check", "config", str(PROMETHEUS_CONFIG)], ["test", "rules", str(ALERT_TESTS)]],
    ids=["check-rules", "check-config", "test-rules"],
)
def test_promtool(check):
    promtool = promql.prometheus_tool("promtool")
    done = subprocess.run([promtool, *check], capture_output=True, text=True, timeout=60, cwd=ALERTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
