"""What question answering's items predicted, as monitoring reads them: the best answer's score and no class, on the
demo QA model (build/demo-model)."""

from __future__ import annotations

import pytest

from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from tests.support.outcomes import answered, demo_model, token_count

QUESTION, CONTEXT = "Which port?", "The container listens on port 8080 for requests to /invocations."


@pytest.fixture(scope="module")
def model():
    return demo_model("demo-model")


def test_the_best_answers_score_without_a_class(model):
    answer, [outcome] = answered(model, {"inputs": {"question": QUESTION, "context": CONTEXT}})
    assert outcome == ItemOutcome((Prediction(None, answer["score"]),), token_count(model, QUESTION, CONTEXT))
    assert model.class_names() == ()


def test_top_k_answers_predict_the_best(model):
    answers, [outcome] = answered(
        model, {"inputs": {"question": QUESTION, "context": CONTEXT}, "parameters": {"top_k": 3}}
    )
    assert len(answers) == 3 and outcome.predictions == (Prediction(None, answers[0]["score"]),)
