"""monitoring/drift/observer.py and gauges.py: the observer a worker builds from DRIFT_BASELINE and DRIFT_WINDOW,
its gauges in prometheus_client's registry (in-process here: no PROMETHEUS_MULTIPROC_DIR), and a baseline that does
not fit the model refused at start."""

from __future__ import annotations

import enum
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from hf_serving.monitoring.drift import profile as profiles
from hf_serving.monitoring.drift.gauges import DRIFT_PSI
from hf_serving.monitoring.drift.observer import drift_observers
from hf_serving.monitoring.drift.profile import BaselineError
from hf_serving.monitoring.drift.window import REPORTED_FROM
from hf_serving.settings import Settings
from tests.unit.monitoring.drift_fixtures import LABELS, baseline, outcomes


class _Task(enum.Enum):
    TEXT_CLASSIFICATION = "text-classification"


MODEL = SimpleNamespace(task=_Task.TEXT_CLASSIFICATION, config=SimpleNamespace(id2label=dict(enumerate(LABELS))))


@pytest.fixture
def baseline_file(tmp_path) -> Path:
    path = tmp_path / "baseline.json"
    profiles.write(path, {"model": baseline(), "other": baseline(seed=2)})
    return path


def settings(path: Path | None, **more: object) -> Settings:
    return Settings(model_dir=Path("/nonexistent"), drift_baseline=path, **more)  # type: ignore[arg-type]


def psi_value(model: str, signal: str) -> float | None:
    return REGISTRY.get_sample_value("hf_serving_drift_psi", {"model": model, "signal": signal})


def test_no_baseline_no_observer():
    assert drift_observers(settings(None), "model", MODEL) == []


def test_the_gauges_appear_once_100_items_are_in_and_follow_the_window(baseline_file):
    (observer,) = drift_observers(settings(baseline_file, drift_window=300, multi_model=True), "other", MODEL)
    first = outcomes(REPORTED_FROM - 1, seed=4)
    observer.observe(first)
    assert psi_value("other", "class") is None  # not reported yet: no series at all, rather than a 0
    assert REGISTRY.get_sample_value("hf_serving_drift_window_items", {"model": "other"}) == REPORTED_FROM - 1
    observer.observe(outcomes(1, seed=5))
    for signal in ("class", "confidence", "tokens"):
        assert psi_value("other", signal) == pytest.approx(observer.window.psi(signal))
    observer.observe(outcomes(400, positive=1.0, seed=6))  # only POSITIVE now: the window holds 300 of them
    assert REGISTRY.get_sample_value("hf_serving_drift_window_items", {"model": "other"}) == 300
    assert psi_value("other", "class") == pytest.approx(observer.window.psi("class"))
    assert psi_value("other", "class") > 0.25 > psi_value("other", "tokens")  # type: ignore[operator]


def test_the_psi_gauge_is_the_most_drifted_live_workers():
    # Each worker has its own window; summing PSIs means nothing, and a dead worker's window is gone.
    assert DRIFT_PSI._multiprocess_mode == "livemax"


def test_a_single_model_endpoint_takes_the_files_only_profile_whatever_its_name(tmp_path):
    path = tmp_path / "one.json"
    profiles.write(path, {"sentiment": baseline()})
    (observer,) = drift_observers(settings(path), "model", MODEL)
    assert observer.window.size == 1000  # DRIFT_WINDOW's default


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing file", "cannot read"),
        ("not json", "is not JSON"),
        ("not a baseline", "is not a drift baseline"),
        ("bins and counts differ", "is not a valid drift baseline"),
        ("no profile of the model", "has no profile of model 'absent' (it has ['model', 'other'])"),
        ("other labels", "labels ['NEGATIVE', 'POSITIVE'], this one has ['JOY', 'SADNESS']"),
        ("other task", "made from a text-classification model, this one is token-classification"),
    ],
)
def test_a_baseline_that_does_not_fit_fails_the_start_naming_the_file_and_why(baseline_file, tmp_path, case, message):
    path, name, model = baseline_file, "absent" if case == "no profile of the model" else "model", MODEL
    if case == "missing file":
        path = tmp_path / "missing.json"
    elif case == "not json":
        path.write_text("{not json")
    elif case == "not a baseline":
        path.write_text('{"models": {}}')
    elif case == "bins and counts differ":
        document = json.loads(path.read_text())
        document["models"]["model"]["tokens"]["counts"].pop()
        path.write_text(json.dumps(document))
    elif case == "other labels":
        model = SimpleNamespace(
            task=_Task.TEXT_CLASSIFICATION, config=SimpleNamespace(id2label={0: "JOY", 1: "SADNESS"})
        )
    elif case == "other task":
        model = SimpleNamespace(task=SimpleNamespace(value="token-classification"), config=MODEL.config)
    with pytest.raises(BaselineError) as raised:
        drift_observers(settings(path, multi_model=True), name, model)
    assert str(raised.value).startswith(f"DRIFT_BASELINE={path} cannot be used for model {name!r}: ")
    assert message in str(raised.value)


def test_with_metrics_off_there_is_nothing_to_report_to_and_the_log_says_so(baseline_file, caplog):
    with caplog.at_level(logging.WARNING, "hf_serving.monitoring"):
        assert drift_observers(settings(baseline_file, metrics="off"), "model", MODEL) == []
    assert "served without drift monitoring" in caplog.text


def test_a_single_model_endpoints_explanation_worker_watches_no_drift(baseline_file):
    """Its few explained requests are no sample of the traffic: the batching workers watch the model's drift."""
    from hf_serving.monitoring import observers

    monitor = observers.for_worker(settings(baseline_file), "explain", "text-classification", MODEL, watch_drift=False)
    assert not [observer for observer in monitor.observers if type(observer).__name__ == "DriftObserver"]
    watched = observers.for_worker(settings(baseline_file), "model", "text-classification", MODEL)
    assert [type(observer).__name__ for observer in watched.observers] == ["PredictionMetrics", "DriftObserver"]
