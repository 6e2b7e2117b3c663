"""Text classification from the same image: detected from config.json, every label's score, long texts."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

EMOTIONS = {"sadness", "joy", "love", "anger", "fear", "surprise"}
PAIRS = [{"text": "I lost my keys.", "text_pair": "I am sad."}, {"text": "We won!", "text_pair": "Joy all round."}]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tiny_emotion):
    tmp = tmp_path_factory.mktemp("classification")
    yield from Stack(model_dir_with_code(tmp, source=tiny_emotion), tmp / "serve.log").serving()


@pytest.fixture(scope="module")
def reference(tiny_emotion):
    """transformers' own pipeline on the same weights, in this process."""
    from transformers import pipeline

    return pipeline("text-classification", model=str(tiny_emotion), device="cpu")


def test_the_task_comes_from_config_json_and_the_banner_says_what_the_worker_loaded(stack):
    assert "task: text-classification (from config.json architectures)" in stack.log()
    assert "serving text-classification on torch" in stack.log() and "dtype float32" in stack.log()


def test_one_text_gives_the_top_label_in_a_list(stack):
    response = stack.invoke({"inputs": "I am thrilled with this!"})
    assert response.status_code == 200
    [result] = response.json()
    assert result["label"] in EMOTIONS and 0 < result["score"] <= 1


def test_every_label_with_top_k_null_for_each_text_of_a_batch(stack):
    texts = ["I am thrilled with this!", "This is frightening.", "Where did my keys go?"]
    response = stack.invoke({"inputs": texts, "parameters": {"top_k": None}})
    assert response.status_code == 200
    results = response.json()
    assert len(results) == 3
    for ranked, text in zip(results, texts, strict=True):
        assert {entry["label"] for entry in ranked} == EMOTIONS
        scores = [entry["score"] for entry in ranked]
        assert scores == sorted(scores, reverse=True)
        assert sum(scores) == pytest.approx(1.0, abs=1e-4)
        alone = stack.invoke({"inputs": text, "parameters": {"top_k": None}}).json()
        assert [e["label"] for e in alone] == [e["label"] for e in ranked]


def test_a_text_far_over_the_model_maximum_is_truncated(stack):
    response = stack.invoke({"inputs": "an endless review " * 5000})
    assert response.status_code == 200
    assert response.json()[0]["label"] in EMOTIONS


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": ["fine", ""]}, "inputs[1] must not be empty"),
        ({"inputs": ["fine", {"text_pair": "x"}]}, "inputs[1].text is missing"),
        ({"inputs": ["fine", 7]}, "inputs[1] must be a string or a"),
        ({"inputs": "x", "parameters": {"function_to_apply": "relu"}}, "function_to_apply"),
    ],
)
def test_bad_items_are_400_naming_the_item(stack, body, message):
    response = stack.invoke(body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_jsonlines_and_csv_one_text_per_record(stack):
    texts = ["I am thrilled with this!", "A text, with a comma"]
    expected = [stack.invoke({"inputs": text}).json()[0] for text in texts]
    lines = "".join(json.dumps({"inputs": text}) + "\n" for text in texts) + '""\n'
    response = stack.invoke(data=lines.encode(), content_type="application/jsonlines")
    assert response.status_code == 200
    answered = [json.loads(line) for line in response.text.splitlines()]
    assert answered[:2] == [[e] for e in expected]
    assert answered[2]["error"]["message"] == "inputs must not be empty"
    rows = io.StringIO()
    csv.writer(rows).writerows([[t] for t in texts])
    response = stack.invoke(data=rows.getvalue().encode(), content_type="text/csv")
    assert response.status_code == 200
    assert list(csv.reader(io.StringIO(response.text))) == [[e["label"], str(e["score"])] for e in expected]


def _same(answer, expected):
    """The pipeline's nesting, labels and scores (float32 through the stack's JSON)."""
    assert type(answer) is type(expected)
    if isinstance(expected, list):
        assert len(answer) == len(expected)
        for mine, theirs in zip(answer, expected, strict=True):
            _same(mine, theirs)
    else:
        assert answer["label"] == expected["label"]
        assert answer["score"] == pytest.approx(expected["score"], rel=1e-4, abs=1e-6)


@pytest.mark.parametrize(
    ("body", "inputs", "parameters"),
    [
        ({"inputs": PAIRS[0]}, PAIRS[0], {}),
        ({**PAIRS[1], "parameters": {"top_k": None}}, PAIRS[1], {"top_k": None}),  # a pair at the top level
        ({"inputs": PAIRS, "parameters": {"top_k": 2}}, PAIRS, {"top_k": 2}),
    ],
    ids=["one pair: bare", "a pair at the top level", "a list of pairs"],
)
def test_text_pairs_answer_as_the_in_process_pipeline(stack, reference, body, inputs, parameters):
    response = stack.invoke(body)
    assert response.status_code == 200
    _same(response.json(), reference(inputs, **parameters))
