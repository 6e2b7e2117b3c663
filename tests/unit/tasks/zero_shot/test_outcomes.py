"""What zero-shot classification's items predicted, as monitoring reads them: the top candidate label and its score,
and every pair's tokens, on the demo NLI model (build/demo-nli)."""

from __future__ import annotations

import pytest

from hf_serving.monitoring.outcomes import Prediction
from tests.support.outcomes import answered, demo_model, token_count

LABELS = ["sports", "politics", "cooking"]


@pytest.fixture(scope="module")
def model():
    return demo_model("demo-nli", "zero-shot-classification")


def test_each_text_predicts_its_top_candidate_with_its_score(model):
    texts = ["The match went to extra time.", "Parliament voted on the budget."]
    answer, outcomes = answered(model, {"inputs": texts, "parameters": {"candidate_labels": LABELS}})
    assert [outcome.predictions for outcome in outcomes] == [
        (Prediction(entry["labels"][0], entry["scores"][0]),) for entry in answer
    ]
    for outcome, text in zip(outcomes, texts, strict=True):  # every label's pair was read
        assert outcome.tokens == sum(token_count(model, text, f"This example is {label}.") for label in LABELS)


def test_multi_label_predicts_its_best_label_too(model):
    answer, [outcome] = answered(
        model, {"inputs": "A recipe for soup.", "parameters": {"candidate_labels": LABELS, "multi_label": True}}
    )
    assert outcome.predictions == (Prediction(answer["labels"][0], max(answer["scores"])),)


def test_the_requests_name_the_classes(model):
    assert model.class_names() is None
