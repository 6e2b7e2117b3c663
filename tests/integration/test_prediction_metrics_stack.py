"""The prediction metrics through the real stack (nginx, multi-model-server, the workers, the launcher's /metrics):
after known traffic, each model's class counts are what its answers said, its confidence histogram holds their
scores and its token histogram the tokenizer's lengths of what was sent. One multi-model endpoint, so that every
series names its model: a sentiment classifier (2 classes, within MONITOR_MAX_LABELS=2) and a token classifier whose
classes (O, PER, LOC, ORG) are more than the bound, so that LOC and ORG are counted as "other"."""

from __future__ import annotations

import collections
import math
from collections.abc import Iterator

import pytest
from transformers import AutoTokenizer

from tests.integration.test_multi_model import invoke, load, running_mme
from tests.support import metrics
from tests.support.outcomes import demo_dir
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

MAX_LABELS = 2
SENTIMENT_TEXTS = [
    "I love this, it is wonderful.",
    "This was a terrible waste of money.",
    "Great value, would buy again.",
    "Broken on arrival and support never answered.",
    "Fine.",
]
NER_TEXTS = [
    "Ada Lovelace flew from Paris to London with Acme Corporation.",
    "Grace Hopper works for Initech in Berlin.",
    "nothing to see here",
]
# The confidence histogram's bucket bounds this test reads, and the token histogram's.
CONFIDENCE_LE = (0.5, 0.9, 0.99, 1.0)
TOKENS_LE = (8, 16, 24, 32)


@pytest.fixture(scope="module")
def mme(tmp_path_factory) -> Iterator[Stack]:
    models = {"sentiment": demo_dir("demo-sentiment-trained"), "ner": demo_dir("demo-ner-trained")}
    for stack in running_mme(
        tmp_path_factory.mktemp("prediction-metrics"),
        MONITOR_MAX_LABELS=str(MAX_LABELS),
        SAGEMAKER_MODEL_SERVER_WORKERS="1",
    ):
        for name, path in models.items():
            loaded = load(stack, name, path)
            assert loaded.status_code == 200, loaded.text
        yield stack


def answered(stack: Stack, name: str, body: object) -> object:
    response = invoke(stack, name, body)
    assert response.status_code == 200, response.text
    return response.json()


def delta(before: metrics.Samples, after: metrics.Samples, name: str, **labels: str) -> float:
    return metrics.total(after, name, **labels) - metrics.total(before, name, **labels)


def bucket(before: metrics.Samples, after: metrics.Samples, name: str, bound: float, **labels: str) -> float:
    """A histogram bucket's increase, found by its bound's value ("8.0" as prometheus_client writes 8)."""
    [le] = {
        series["le"]
        for series in metrics.series(after, name)
        if series.get("le") not in (None, "+Inf") and float(series["le"]) == bound
    }
    return delta(before, after, name, le=le, **labels)


def token_lengths(name: str, texts: list[str]) -> list[int]:
    tokenizer = AutoTokenizer.from_pretrained(str(demo_dir(name)))
    return [len(tokenizer(text, truncation=True)["input_ids"]) for text in texts]


def assert_histograms(
    before: metrics.Samples, after: metrics.Samples, model: str, task: str, scores: list[float], tokens: list[int]
) -> None:
    """The confidence histogram holds exactly these scores, the token histogram exactly these lengths."""
    labels = {"model": model, "task": task}
    assert delta(before, after, "hf_serving_prediction_confidence_count", **labels) == len(scores)
    assert math.isclose(
        delta(before, after, "hf_serving_prediction_confidence_sum", **labels), sum(scores), rel_tol=1e-6
    )
    for le in CONFIDENCE_LE:
        assert bucket(before, after, "hf_serving_prediction_confidence_bucket", le, **labels) == sum(
            score <= le for score in scores
        ), le
    assert delta(before, after, "hf_serving_item_tokens_count", **labels) == len(tokens)
    assert delta(before, after, "hf_serving_item_tokens_sum", **labels) == sum(tokens)
    for le in TOKENS_LE:
        assert bucket(before, after, "hf_serving_item_tokens_bucket", le, **labels) == sum(
            count <= le for count in tokens
        ), le


def test_a_classifiers_counts_confidences_and_tokens_are_what_its_answers_said(mme):
    before = metrics.scrape(mme.url)
    answers = [
        answered(mme, "sentiment", {"inputs": SENTIMENT_TEXTS}),
        answered(mme, "sentiment", {"inputs": SENTIMENT_TEXTS[:2], "parameters": {"top_k": None}}),
    ]
    after = metrics.scrape(mme.url)
    tops = answers[0] + [ranked[0] for ranked in answers[1]]
    said = collections.Counter(top["label"] for top in tops)
    assert set(said) == {"NEGATIVE", "POSITIVE"}  # a trained model: both classes, each under its own name
    for label in ("NEGATIVE", "POSITIVE"):
        assert (
            delta(
                before,
                after,
                "hf_serving_predictions_total",
                model="sentiment",
                task="text-classification",
                label=label,
            )
            == said[label]
        ), label
    assert_histograms(
        before,
        after,
        "sentiment",
        "text-classification",
        [top["score"] for top in tops],
        token_lengths("demo-sentiment-trained", SENTIMENT_TEXTS + SENTIMENT_TEXTS[:2]),
    )


def test_classes_past_the_bound_are_counted_as_other(mme):
    before = metrics.scrape(mme.url)
    answers = answered(mme, "ner", {"inputs": NER_TEXTS, "parameters": {"aggregation_strategy": "simple"}})
    after = metrics.scrape(mme.url)
    entities = [entity for found in answers for entity in found]
    said = collections.Counter(entity["entity_group"] for entity in entities)
    kept = ("O", "PER")  # the model's first MAX_LABELS classes, in its id2label order (B-/I- stripped)
    beyond = sum(count for label, count in said.items() if label not in kept)
    assert said["PER"] and beyond, said  # a trained model finds people, and places or companies
    labels = {"model": "ner", "task": "token-classification"}
    assert delta(before, after, "hf_serving_predictions_total", label="PER", **labels) == said["PER"]
    assert delta(before, after, "hf_serving_predictions_total", label="other", **labels) == beyond
    counted = {
        series["label"] for series in metrics.series(after, "hf_serving_predictions_total") if series["model"] == "ner"
    }
    assert counted <= {"O", "PER", "other"}
    assert_histograms(
        before,
        after,
        "ner",
        "token-classification",
        [entity["score"] for entity in entities],
        token_lengths("demo-ner-trained", NER_TEXTS),
    )


def test_every_prediction_series_names_its_model_and_task(mme):
    answered(mme, "sentiment", {"inputs": "Lovely."})
    answered(mme, "ner", {"inputs": "Ada Lovelace lives in Paris."})
    samples = metrics.scrape(mme.url)
    for name in (
        "hf_serving_predictions_total",
        "hf_serving_prediction_confidence_count",
        "hf_serving_item_tokens_count",
        "hf_serving_monitoring_errors_total",
    ):
        found = metrics.series(samples, name)
        assert {series["model"] for series in found} == {"sentiment", "ner"}, name
    tasks = {(series["model"], series["task"]) for series in metrics.series(samples, "hf_serving_item_tokens_count")}
    assert tasks == {("sentiment", "text-classification"), ("ner", "token-classification")}
    assert metrics.total(samples, "hf_serving_monitoring_errors_total") == 0
