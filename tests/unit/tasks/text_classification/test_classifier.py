"""Parity with transformers' text-classification pipeline on the same weights, and request validation."""

from __future__ import annotations

import pytest
from transformers import pipeline

from hf_serving.errors import BadRequest
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.text_classification.requests import parse_classification_request

TEXTS = ["I love this container!", "Terrible. It crashed twice.", "Café 漢字 🙂 ok\tfine\n", "meh " * 40]
CASES = [
    ("one text, no top_k", TEXTS[0], {}),
    ("a list, no top_k", TEXTS, {}),
    ("top_k 1", TEXTS[1], {"top_k": 1}),
    ("top_k 2 on a list", TEXTS, {"top_k": 2}),
    ("every label", TEXTS[2], {"top_k": None}),
    ("sigmoid", TEXTS, {"function_to_apply": "sigmoid"}),
    ("raw logits, every label", TEXTS[:2], {"function_to_apply": "none", "top_k": None}),
]


def served(path):
    return load_served_model(path, Settings(model_dir=path, dtype="float32"))


def assert_same(ours, theirs):
    """Labels equal, scores within 1e-4, the same nesting."""
    assert type(ours) is type(theirs)
    if isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs, strict=True):
            assert_same(mine, reference)
    else:
        assert ours["label"] == theirs["label"]
        assert ours["score"] == pytest.approx(theirs["score"], abs=1e-4)


@pytest.mark.parametrize("fixture", ["tiny_sentiment", "tiny_emotion", "tiny_multilabel"])
@pytest.mark.parametrize(("name", "inputs", "parameters"), CASES, ids=[c[0] for c in CASES])
def test_results_equal_the_transformers_pipeline(request, fixture, name, inputs, parameters):
    path = request.getfixturevalue(fixture)
    reference = pipeline("text-classification", model=str(path), device="cpu")
    payload = {"inputs": inputs, "parameters": parameters} if parameters else {"inputs": inputs}
    assert_same(served(path).predict(payload), reference(inputs, **parameters))


def test_a_text_longer_than_the_model_is_truncated_not_an_error(tiny_emotion):
    long_text = "this goes on and on " * 2000
    reference = pipeline("text-classification", model=str(tiny_emotion), device="cpu")
    assert_same(served(tiny_emotion).predict({"inputs": long_text}), reference(long_text, truncation=True))


def test_a_batch_equals_its_texts_one_by_one(tiny_emotion):
    model = served(tiny_emotion)
    texts = [TEXTS[i % len(TEXTS)] * (1 + i % 3) for i in range(40)]  # > one chunk, many lengths
    batched = model.predict({"inputs": texts, "parameters": {"top_k": None}})
    single = [model.predict({"inputs": text, "parameters": {"top_k": None}}) for text in texts]
    assert len(batched) == 40
    for mine, alone in zip(batched, single, strict=True):
        assert [e["label"] for e in mine] == [e["label"] for e in alone]
        assert [e["score"] for e in mine] == pytest.approx([e["score"] for e in alone], abs=1e-5)


@pytest.mark.parametrize("inputs", [TEXTS[0], TEXTS[:2]], ids=["a string", "a list"])
@pytest.mark.parametrize("parameters", [None, {"top_k": None}], ids=["no parameters", "top_k null"])
def test_text_stands_for_inputs_with_the_same_answer(tiny_emotion, inputs, parameters):
    model = served(tiny_emotion)
    extra = {} if parameters is None else {"parameters": parameters}
    assert model.predict({"text": inputs, **extra}) == model.predict({"inputs": inputs, **extra})


def test_every_emotion_label_comes_back_sorted(tiny_emotion):
    result = served(tiny_emotion).predict({"inputs": "so happy", "parameters": {"top_k": None}})
    assert sorted(e["label"] for e in result) == sorted(["sadness", "joy", "love", "anger", "fear", "surprise"])
    scores = [e["score"] for e in result]
    assert scores == sorted(scores, reverse=True) and sum(scores) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"inputs": ""}, "inputs must not be empty"),
        ({"inputs": ["fine", "  "]}, "inputs[1] must not be empty"),
        ({"inputs": ["fine", 3]}, 'inputs[1] must be a string or a {"text": ..., "text_pair": ...} object, not number'),
        ({"inputs": []}, "inputs must not be an empty list"),
        ({"txt": "x"}, "unknown field(s) txt"),
        ({"text": "x", "inputs": "y"}, 'send the inputs as "inputs" or as "text", not both'),
        ({"text": ["fine", ""]}, "text[1] must not be empty"),
        ({"parameters": {}}, "inputs is missing"),
        ({"inputs": "x", "parameters": {"top_k": 0}}, "parameters.top_k must be an integer >= 1"),
        ({"inputs": "x", "parameters": {"top_k": True}}, "parameters.top_k"),
        ({"inputs": "x", "parameters": {"function_to_apply": "relu"}}, "function_to_apply must be one of"),
        ({"inputs": "x", "parameters": {"topk": 2}}, "unknown parameters: topk"),
        (None, "inputs must be a string or a"),
    ],
)
def test_bad_requests_name_the_item_or_parameter(payload, message):
    with pytest.raises(BadRequest) as caught:
        parse_classification_request(payload)
    assert message in caught.value.message
