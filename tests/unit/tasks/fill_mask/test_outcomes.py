"""What fill-mask's items predicted, as monitoring reads them: each mask's best score, no token (a vocabulary is no
class to count), on the trained demo masked-LM (build/demo-fill-mask-trained)."""

from __future__ import annotations

import pytest

from hf_serving.monitoring.outcomes import ItemOutcome, Prediction
from tests.support.outcomes import answered, demo_model, token_count


@pytest.fixture(scope="module")
def model():
    return demo_model("demo-fill-mask-trained")


def test_one_mask_predicts_its_best_score(model):
    text = "Paris is the capital of [MASK]."
    answer, [outcome] = answered(model, {"inputs": text})
    assert outcome == ItemOutcome((Prediction(None, answer[0]["score"]),), token_count(model, text))


def test_each_mask_of_a_text_is_a_prediction(model):
    answer, [outcome] = answered(model, {"inputs": "[MASK] is the capital of [MASK].", "parameters": {"top_k": 2}})
    assert outcome.predictions == tuple(Prediction(None, proposals[0]["score"]) for proposals in answer)
    assert model.class_names() == ()
