"""The prediction metrics of one worker, in-process (prometheus_client's own registry): classes counted under a
bounded label, confidences and item tokens as histograms; each test its own model label, so none sees another's."""

from __future__ import annotations

import itertools

import pytest
from prometheus_client import REGISTRY

from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from hf_serving.monitoring.prediction_metrics import CONFIDENCE_BUCKETS, OTHER, ClassBound, PredictionMetrics

_models = itertools.count()


@pytest.fixture
def model() -> str:
    return f"metrics-test-{next(_models)}"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_classes_confidences_and_tokens_as_the_outcomes_said(model):
    metrics = PredictionMetrics(model, "text-classification", ("NEGATIVE", "POSITIVE"), 20)
    metrics.observe([ItemOutcome((Prediction("POSITIVE", 0.99),), 12), ItemOutcome((Prediction("NEGATIVE", 0.6),), 7)])
    metrics.observe([ItemOutcome((Prediction("POSITIVE", 0.9995),), None)])  # a cache hit: no tokens, still counted
    task = "text-classification"
    assert value("hf_serving_predictions_total", model=model, task=task, label="POSITIVE") == 2
    assert value("hf_serving_predictions_total", model=model, task=task, label="NEGATIVE") == 1
    assert value("hf_serving_prediction_confidence_count", model=model, task=task) == 3
    assert value("hf_serving_prediction_confidence_sum", model=model, task=task) == pytest.approx(0.99 + 0.6 + 0.9995)
    assert value("hf_serving_prediction_confidence_bucket", model=model, task=task, le="0.99") == 2
    assert value("hf_serving_prediction_confidence_bucket", model=model, task=task, le="0.999") == 2
    assert value("hf_serving_prediction_confidence_bucket", model=model, task=task, le="1.0") == 3
    assert value("hf_serving_item_tokens_count", model=model, task=task) == 2
    assert value("hf_serving_item_tokens_sum", model=model, task=task) == 19


def test_a_prediction_without_a_class_or_a_probability_counts_only_what_it_has(model):
    metrics = PredictionMetrics(model, "question-answering", (), 20)
    metrics.observe(
        [ItemOutcome((Prediction(None, 0.4),), 300), ItemOutcome((Prediction("LABEL_0", None),), 5), ItemOutcome((), 9)]
    )
    task = "question-answering"
    assert value("hf_serving_prediction_confidence_count", model=model, task=task) == 1
    assert value("hf_serving_item_tokens_count", model=model, task=task) == 3
    assert value("hf_serving_predictions_total", model=model, task=task, label=OTHER) == 1  # not one of its names


def test_confidence_buckets_are_probabilities_finest_near_one():
    assert CONFIDENCE_BUCKETS[-1] == 1.0 and all(0 < b <= 1 for b in CONFIDENCE_BUCKETS)
    assert {0.9, 0.99, 0.999} <= set(CONFIDENCE_BUCKETS)


def test_a_models_own_classes_keep_the_first_n_in_its_order():
    bound = ClassBound(("sadness", "joy", "love", "anger"), 2)
    assert [bound.label(name) for name in ("love", "joy", "sadness", "anger", "unheard")] == [
        OTHER,
        "joy",
        "sadness",
        OTHER,
        OTHER,
    ]


def test_classes_the_requests_name_are_admitted_first_come_up_to_n():
    bound = ClassBound(None, 2)
    assert [bound.label(name) for name in ("sports", "politics", "sports", "cooking", "politics", "art")] == [
        "sports",
        "politics",
        "sports",
        OTHER,
        "politics",
        OTHER,
    ]


def test_a_model_with_more_classes_than_the_bound_counts_the_rest_as_other(model):
    metrics = PredictionMetrics(model, "token-classification", ("O", "PER", "LOC", "ORG"), 2)
    metrics.observe([ItemOutcome((Prediction("PER", 0.9), Prediction("LOC", 0.8), Prediction("ORG", 0.7)), 20)])
    labels = {
        label: value("hf_serving_predictions_total", model=model, task="token-classification", label=label)
        for label in ("O", "PER", "LOC", "ORG", OTHER)
    }
    assert labels == {"O": 0, "PER": 1, "LOC": 0, "ORG": 0, OTHER: 2}
