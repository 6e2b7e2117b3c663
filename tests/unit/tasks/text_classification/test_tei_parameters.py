"""text-embeddings-inference's /predict parameters on text classification, at the top level as TEI on SageMaker
takes them or in parameters: raw_scores (the logits), truncate (false: a 413 past the model's maximum) and
truncation_direction."""

from __future__ import annotations

import pytest

from hf_serving.errors import BadRequest, PayloadTooLarge
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings


@pytest.fixture(scope="module")
def model(tiny_emotion):
    return load_served_model(tiny_emotion, Settings(model_dir=tiny_emotion, dtype="float32"))


def test_raw_scores_are_the_logits_at_the_top_level_or_in_parameters(model):
    logits = model.predict({"inputs": "I love it", "parameters": {"function_to_apply": "none", "top_k": None}})
    assert model.predict({"inputs": "I love it", "raw_scores": True, "parameters": {"top_k": None}}) == logits
    assert model.predict({"inputs": "I love it", "parameters": {"raw_scores": True, "top_k": None}}) == logits
    assert model.predict({"inputs": "I love it", "raw_scores": False}) == model.predict({"inputs": "I love it"})


def test_raw_scores_with_another_function_is_a_400(model):
    with pytest.raises(BadRequest, match="raw_scores answers the logits"):
        model.predict({"inputs": "x", "raw_scores": True, "parameters": {"function_to_apply": "softmax"}})


def test_truncate_false_refuses_a_text_over_the_maximum_naming_it(model):
    long = "word " * (model.classifier.max_length + 10)
    with pytest.raises(PayloadTooLarge, match=r"inputs\[1\] is \d+ tokens long, over this model's"):
        model.predict({"inputs": ["short", long], "truncate": False})
    assert len(model.predict({"inputs": ["short", long], "truncate": True})) == 2
    assert len(model.predict({"inputs": ["short"], "truncate": False})) == 1


def test_truncation_direction_says_which_end_is_cut(model):
    text = "first " + "middle " * (model.classifier.max_length + 10) + "last"
    [right] = model.classifier.tokenized([text], "right")
    [left] = model.classifier.tokenized([text], "left")
    tokenizer = model.classifier.tokenizer
    assert "first" in tokenizer.decode(right["input_ids"]) and "last" not in tokenizer.decode(right["input_ids"])
    assert "last" in tokenizer.decode(left["input_ids"]) and "first" not in tokenizer.decode(left["input_ids"])
    assert tokenizer.truncation_side == "right"  # put back
    assert len(model.predict({"inputs": text, "truncation_direction": "Left"})) == 1
