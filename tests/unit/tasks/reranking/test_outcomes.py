"""What reranking's pairs predicted, as monitoring reads them: a pair's relevance where the cross-encoder's sigmoid
makes it a probability, nothing for raw scores; on the demo reranker (build/demo-reranker)."""

from __future__ import annotations

import pytest

from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from tests.support.outcomes import answered, demo_model, token_count

QUERY, TEXTS = "Where does the container listen?", ["On port 8080.", "The weather is fine today."]


@pytest.fixture(scope="module")
def model():
    return demo_model("demo-reranker")


def test_each_pair_predicts_its_sigmoid_score_in_the_texts_order(model):
    answer, outcomes = answered(model, {"query": QUERY, "texts": TEXTS})
    scores = {entry["index"]: entry["score"] for entry in answer}
    assert outcomes == [
        ItemOutcome((Prediction(None, pytest.approx(scores[index])),), token_count(model, QUERY, text))
        for index, text in enumerate(TEXTS)
    ]


def test_raw_scores_are_no_confidence(model):
    _, outcomes = answered(model, {"query": QUERY, "texts": TEXTS, "raw_scores": True})
    assert [outcome.predictions for outcome in outcomes] == [(), ()]
    assert all(outcome.tokens for outcome in outcomes)
