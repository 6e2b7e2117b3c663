"""The worker's monitor as the handler builds it (observers.for_worker): the prediction metrics of the loaded model
after real requests, in-process, and nothing at all with SERVE_METRICS=off."""

from __future__ import annotations

import dataclasses
import json

import pytest
from prometheus_client import REGISTRY

from hf_serving.monitoring import failures, observers
from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from hf_serving.monitoring.prediction_metrics import PredictionMetrics
from hf_serving.settings import Settings, settings_in_use
from tests.support.fakes import json_request, run_batch, service_for
from tests.support.outcomes import demo_dir

TASK = "text-classification"
TEXTS = ["I love this, it is wonderful.", "This was a terrible waste of money.", "Great value, would buy again."]


@pytest.fixture
def settings(monkeypatch, tmp_path):
    current = Settings(
        model_dir=demo_dir("demo-sentiment-trained"), dtype="float32", code_dir_override=tmp_path / "code"
    )
    with settings_in_use(current):
        yield current


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"model": "model", "task": TASK, **labels}) or 0.0


def test_the_handlers_monitor_counts_what_the_answers_said(settings):
    service = service_for(settings)
    [metrics] = service.monitor.observers
    assert isinstance(metrics, PredictionMetrics) and metrics.classes.kept == {"NEGATIVE", "POSITIVE"}
    before = {label: value("hf_serving_predictions_total", label=label) for label in ("NEGATIVE", "POSITIVE")}
    confidence = value("hf_serving_prediction_confidence_sum"), value("hf_serving_prediction_confidence_count")
    tokens = value("hf_serving_item_tokens_sum"), value("hf_serving_item_tokens_count")
    [body], _ = run_batch(service, [json_request({"inputs": TEXTS})])
    answers = json.loads(body)
    for label in ("NEGATIVE", "POSITIVE"):
        said = sum(answer["label"] == label for answer in answers)
        assert value("hf_serving_predictions_total", label=label) == before[label] + said
    assert value("hf_serving_prediction_confidence_count") == confidence[1] + 3
    assert value("hf_serving_prediction_confidence_sum") == pytest.approx(
        confidence[0] + sum(answer["score"] for answer in answers)
    )
    lengths = [len(service.hooks.model.tokenizer(text)["input_ids"]) for text in TEXTS]
    assert (value("hf_serving_item_tokens_sum"), value("hf_serving_item_tokens_count")) == (
        tokens[0] + sum(lengths),
        tokens[1] + 3,
    )


def test_serve_metrics_off_records_nothing(settings, monkeypatch):
    monkeypatch.setattr(failures, "_worker", failures._Worker())  # this worker's label, for this test only
    off = dataclasses.replace(settings, metrics="off")
    monitor = observers.for_worker(off, "metrics-off", TASK, None)
    assert monitor.observers == []
    monitor.observe([ItemOutcome((Prediction("POSITIVE", 0.9),), 5)])
    assert REGISTRY.get_sample_value("hf_serving_item_tokens_count", {"model": "metrics-off", "task": TASK}) is None


def test_a_users_model_names_no_classes_and_zero_shot_leaves_them_to_the_requests():
    assert observers.class_names(object()) == ()

    class Open:
        def class_names(self):
            return None

    assert observers.class_names(Open()) is None
