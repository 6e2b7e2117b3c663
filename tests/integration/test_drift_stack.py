"""Drift end to end: a baseline made by `python -m hf_serving drift-baseline` from a mix of texts, the real stack
serving the trained sentiment classifier with DRIFT_BASELINE and a window of WINDOW items (one worker, so one
window), and a real Prometheus scraping it every second and evaluating the shipped drift rules, copied with a `for`
of a few seconds (the shipped file is promtool-checked and unit-tested in tests/unit/test_dashboard.py).

Three phases of WINDOW items each, every one filling the window anew:
* traffic like the baseline (the same mix of classes, the same sentence shapes): every drift gauge low, no alert;
* only POSITIVE opinions: the class gauge over the significant mark and its alert firing, the tokens gauge low;
* both classes again, each padded with neutral sentences to several times the tokens: the tokens gauge over the
  mark and its alert firing.
And a baseline that cannot be used stops the start, saying so in the log; on a multi-model endpoint each model is
watched against its own profile, and a model the file has no profile of is refused its load.

Skipped where /usr/bin/prometheus is missing, except in CI (tests/support/promql.py prometheus_tool).
"""

from __future__ import annotations

import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support import promql, waiting
from tests.support.paths import ROOT
from tests.support.prometheus_server import Prometheus
from tests.support.promql import ALERTS
from tests.support.sentiment_texts import long_opinions, opinions
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

WINDOW = 300
PER_REQUEST = 10
SIGNIFICANT = 0.25  # the shipped HfServingDriftSignificant's threshold (checked below)
LOW = 0.1  # under the moderate mark
DRIFT_RULES = ("HfServingDriftSignificant", "HfServingDriftModerate")
DEADLINE_S = 90.0


@pytest.fixture(scope="module")
def sentiment(request) -> Path:
    built = ROOT / "build" / "demo-sentiment-trained"
    return built if (built / "config.json").exists() else request.getfixturevalue("trained_sentiment")


def short_for_rules(directory: Path) -> Path:
    """The shipped rules with the drift alerts' `for` cut to seconds; nothing else changed."""
    document = yaml.safe_load(ALERTS.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") in DRIFT_RULES:
                rule["for"] = "3s"
    copy = directory / "alerts-short-for.yml"
    copy.write_text(yaml.safe_dump(document))
    return copy


@pytest.fixture(scope="module")
def drift(tmp_path_factory, sentiment) -> Iterator[tuple[Stack, Prometheus, dict, str]]:
    binary = promql.prometheus_tool("prometheus")
    tmp = tmp_path_factory.mktemp("drift")
    texts = tmp / "baseline-texts.jsonl"
    texts.write_text("".join(json.dumps(text) + "\n" for text in opinions(2 * WINDOW, positive=0.5, seed=1)))
    baseline = tmp / "baseline.json"
    made = subprocess.run(
        [sys.executable, "-m", "hf_serving", "drift-baseline", str(texts), str(baseline), "--model", str(sentiment)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    # Data capture on as well: its panels are asked here, and drift-baseline reads back the stack's own files.
    stack = Stack(
        sentiment,
        tmp / "serve.log",
        DRIFT_BASELINE=str(baseline),
        DRIFT_WINDOW=str(WINDOW),
        SAGEMAKER_MODEL_SERVER_WORKERS="1",
        DATA_CAPTURE_PERCENT="100",
        DATA_CAPTURE_DESTINATION=str(tmp / "capture"),
        DATA_CAPTURE_FLUSH_S="1",
    )
    prometheus = Prometheus(binary, tmp, f"127.0.0.1:{stack.port}", rules=short_for_rules(tmp))
    try:
        stack.start().wait_ready()
        prometheus.start()
        yield stack, prometheus, json.loads(baseline.read_text()), made.stdout
    finally:
        prometheus.stop()
        stack.kill_everything()


# What the drift stack answered, for the drift-baseline made from its own capture files at the end
ANSWERED = {"requests": 0, "labels": collections.Counter()}


def send(stack: Stack, texts: list[str]) -> None:
    for start in range(0, len(texts), PER_REQUEST):
        response = stack.invoke({"inputs": texts[start : start + PER_REQUEST]})
        assert response.status_code == 200, response.text
        assert len(response.json()) == len(texts[start : start + PER_REQUEST])
        ANSWERED["requests"] += 1
        ANSWERED["labels"].update(answer["label"] for answer in response.json())


def drift_gauges(stack: Stack) -> dict[str, float]:
    """The stack's own /metrics: each signal's PSI, and the window's items as "items"."""
    text = requests.get(f"{stack.url}/metrics", timeout=10).text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "hf_serving_drift_psi" and sample.labels.get("model") == "model":
                found[sample.labels["signal"]] = sample.value
            elif sample.name == "hf_serving_drift_window_items" and sample.labels.get("model") == "model":
                found["items"] = sample.value
    return found


def wait_until(condition: Callable[[], bool], deadline_s: float = DEADLINE_S) -> bool:
    return waiting.wait_until(condition, deadline_s)


def active_drift_alerts(prometheus: Prometheus) -> dict[tuple[str, str], str]:
    """(alert, signal) -> pending or firing."""
    return {
        (series["metric"]["alertname"], series["metric"]["signal"]): series["metric"]["alertstate"]
        for series in prometheus.query('ALERTS{alertname=~"HfServingDrift.*"}')
    }


def prometheus_sees(prometheus: Prometheus, gauges: dict[str, float]) -> bool:
    """Prometheus's last scrape holds these values (the window after the phase's last request)."""
    seen = {
        series["metric"]["signal"]: float(series["value"][1])
        for series in prometheus.query('hf_serving_drift_psi{model="model"}')
    }
    return seen == {signal: value for signal, value in gauges.items() if signal != "items"}


def test_the_cli_made_the_baseline_from_the_model_s_answers_to_the_texts(drift):
    _, _, baseline, printed = drift
    ((name, profile),) = baseline["models"].items()
    assert name == "model" and profile["items"] == 2 * WINDOW and profile["task"] == "text-classification"
    # Half of the texts hold a POSITIVE word, and the model knows its words.
    assert profile["class"]["counts"] == {"NEGATIVE": WINDOW, "POSITIVE": WINDOW}
    assert sum(profile["confidence"]["counts"]) == sum(profile["tokens"]["counts"]) == 2 * WINDOW
    assert f"model model (text-classification): {2 * WINDOW} items" in printed


def test_the_shipped_threshold_is_the_one_these_tests_hold_the_gauges_to():
    rules = dict(promql.rule_exprs())
    assert rules["HfServingDriftSignificant"].strip() == f"hf_serving_drift_psi > {SIGNIFICANT}"
    assert rules["HfServingDriftModerate"].strip() == f"hf_serving_drift_psi > {LOW}"


def test_traffic_like_the_baseline_keeps_every_drift_gauge_low(drift):
    stack, prometheus, _, _ = drift
    send(stack, opinions(WINDOW // 2, positive=0.5, seed=2))
    half = drift_gauges(stack)
    assert half["items"] == WINDOW // 2 and set(half) == {"items", "class", "confidence", "tokens"}, half
    send(stack, opinions(WINDOW - WINDOW // 2, positive=0.5, seed=3))
    gauges = drift_gauges(stack)
    assert gauges["items"] == WINDOW
    for signal in ("class", "confidence", "tokens"):
        assert 0 <= gauges[signal] < LOW, gauges
    assert wait_until(lambda: prometheus_sees(prometheus, gauges)), prometheus.query("hf_serving_drift_psi")
    # A few evaluations with these values: were one over a threshold, a 3 s `for` would have it pending by now.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert active_drift_alerts(prometheus) == {}
        time.sleep(0.5)


def test_another_class_mix_raises_the_class_gauge_over_its_threshold_and_the_alert_fires(drift):
    stack, prometheus, _, _ = drift
    send(stack, opinions(WINDOW, positive=1.0, seed=4))
    gauges = drift_gauges(stack)
    assert gauges["class"] > SIGNIFICANT and gauges["tokens"] < LOW, gauges
    assert wait_until(
        lambda: active_drift_alerts(prometheus).get(("HfServingDriftSignificant", "class")) == "firing"
    ), (active_drift_alerts(prometheus), prometheus.query("hf_serving_drift_psi"))
    assert ("HfServingDriftSignificant", "tokens") not in active_drift_alerts(prometheus)


def test_other_lengths_raise_the_tokens_gauge_over_its_threshold_and_the_alert_fires(drift):
    stack, prometheus, _, _ = drift
    send(stack, long_opinions(WINDOW, seed=5))
    gauges = drift_gauges(stack)
    assert gauges["tokens"] > SIGNIFICANT, gauges
    assert wait_until(
        lambda: active_drift_alerts(prometheus).get(("HfServingDriftSignificant", "tokens")) == "firing"
    ), (active_drift_alerts(prometheus), prometheus.query("hf_serving_drift_psi"))
    rules = {rule["name"]: rule for group in prometheus.api("rules")["groups"] for rule in group["rules"]}
    for name in DRIFT_RULES:
        assert rules[name]["health"] == "ok" and not rules[name].get("lastError"), rules[name]


def test_the_drift_rules_operands_and_panels_have_data_in_prometheus(drift):
    """What tests/integration/test_observability_prometheus.py leaves to this stack: every drift rule's compared
    query, and every dashboard expression over a drift or data capture metric, answer series here."""
    _, prometheus, _, _ = drift
    rules = dict(promql.rule_exprs())
    for alert in DRIFT_RULES:
        for operand in promql.condition_operands(rules[alert]):
            assert prometheus.query(operand), f"{alert}: {operand} matches nothing"
    for title, expr in promql.dashboard_exprs(promql.load_dashboard()):
        if "hf_serving_drift_" in expr or "hf_serving_data_capture_" in expr:
            query = promql.substitute(expr, interval="1m")
            assert prometheus.query(query), f"{title}: no series for {query}"


def test_a_baseline_from_the_stacks_own_capture_files_holds_every_answer_it_gave(drift, tmp_path, sentiment):
    """drift-baseline reads the capture files this stack wrote (DATA_CAPTURE_PERCENT=100): as many items as the
    traffic above sent, and the class mix its answers said."""
    stack, _, _, _ = drift
    sent = ANSWERED["requests"]
    assert sent > 0, "run with the traffic tests above"

    def written() -> float:
        text = requests.get(f"{stack.url}/metrics", timeout=10).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "hf_serving_data_capture_records_total" and sample.labels.get("result") == "written"
        )

    assert wait_until(lambda: written() >= sent), f"{written()} records written for {sent} requests"
    capture_dir = stack.log_path.parent / "capture"
    out = tmp_path / "from-capture.json"
    made = subprocess.run(
        [sys.executable, "-m", "hf_serving", "drift-baseline", str(capture_dir), str(out), "--model", str(sentiment)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    profile = json.loads(out.read_text())["models"]["model"]
    assert profile["source"]["kind"] == "data capture" and profile["source"]["records"] == sent
    assert profile["class"]["counts"] == dict(ANSWERED["labels"])
    assert profile["items"] == sum(ANSWERED["labels"].values())


def test_a_baseline_that_cannot_be_used_stops_the_start_saying_why(tmp_path, sentiment):
    missing = tmp_path / "no-such-baseline.json"
    stack = Stack(sentiment, tmp_path / "serve.log", DRIFT_BASELINE=str(missing))
    try:
        stack.start()
        assert stack.wait_exit(timeout_s=120) == 1
    finally:
        stack.kill_everything()
    log = stack.log()
    assert f"DRIFT_BASELINE={missing} cannot be used for model 'model': cannot read" in log, log[-3000:]
    assert "the model failed to load" in log


def test_a_multi_model_endpoint_watches_each_model_against_its_own_profile(tmp_path, sentiment):
    texts = tmp_path / "texts.jsonl"
    texts.write_text("".join(json.dumps(text) + "\n" for text in opinions(200, positive=0.5, seed=6)))
    baseline = tmp_path / "baseline.json"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "hf_serving",
            "drift-baseline",
            str(texts),
            str(baseline),
            "--model",
            str(sentiment),
            "--name",
            "reviews",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    runtime = tempfile.mkdtemp(prefix="drift-mme-")  # under /tmp: nginx's workers (another user) must reach it
    stack = Stack(
        None,
        tmp_path / "serve.log",
        SAGEMAKER_MULTI_MODEL="true",
        SERVE_RUNTIME_DIR=runtime,
        DRIFT_BASELINE=str(baseline),
        DRIFT_WINDOW="100",
    )
    try:
        stack.start().wait_ready()
        loaded = requests.post(
            f"{stack.url}/models", json={"model_name": "reviews", "url": str(sentiment)}, timeout=400
        )
        assert loaded.status_code == 200, loaded.text
        for start in range(0, 100, PER_REQUEST):
            answer = requests.post(
                f"{stack.url}/models/reviews/invoke",
                timeout=60,
                json={"inputs": opinions(100, positive=1.0, seed=7)[start : start + PER_REQUEST]},
            )
            assert answer.status_code == 200, answer.text
        text = requests.get(f"{stack.url}/metrics", timeout=10).text
        psi = {
            sample.labels["signal"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "hf_serving_drift_psi" and sample.labels.get("model") == "reviews"
        }
        assert psi["class"] > SIGNIFICANT and psi["tokens"] < LOW, psi
        refused = requests.post(
            f"{stack.url}/models", json={"model_name": "unprofiled", "url": str(sentiment)}, timeout=400
        )
        assert refused.status_code == 500 and refused.json()["error"]["code"] == "model_load_failed", refused.text
        assert "cannot be used for model 'unprofiled': it has no profile of model 'unprofiled'" in stack.log()
        again = requests.post(f"{stack.url}/models/reviews/invoke", json={"inputs": "The film was superb."}, timeout=60)
        assert again.status_code == 200 and again.json()[0]["label"] == "POSITIVE", again.text
    finally:
        stack.kill_everything()
        shutil.rmtree(runtime, ignore_errors=True)
