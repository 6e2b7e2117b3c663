"""Zero-shot classification through the real stack (HF_TASK=zero-shot-classification on a tiny NLI model): the
pipeline's answers, per-record errors in a JSON Lines batch, 400s naming the parameter, and the start-up refusals."""

from __future__ import annotations

import csv
import io
import json

import pytest
from transformers import pipeline

from tests.support.nli_models import assert_same_answers, tiny_nli
from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

TASK = "zero-shot-classification"
TEXTS = ["The striker scored twice in the final.", "Parliament passed the budget.", "Café 漢字 🙂, fine"]
LABELS = ["sports", "politics", "cooking"]


@pytest.fixture(scope="module")
def nli(tmp_path_factory):
    return tiny_nli(tmp_path_factory.mktemp("nli"))


@pytest.fixture(scope="module")
def reference(nli):
    return pipeline(TASK, model=str(nli), device="cpu")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, nli):
    tmp = tmp_path_factory.mktemp("zero-shot")
    yield from Stack(model_dir_with_code(tmp, source=nli), tmp / "serve.log", HF_TASK=TASK).serving()


def test_the_banner_names_the_task_hf_task_chose(stack):
    assert f"serving {TASK} on torch" in stack.log()


@pytest.mark.parametrize(
    ("inputs", "parameters"),
    [
        (TEXTS[0], {"candidate_labels": LABELS}),
        (TEXTS, {"candidate_labels": "sports, politics,cooking", "multi_label": True}),
        (TEXTS[1], {"candidate_labels": LABELS, "hypothesis_template": "The topic is {}."}),
        ("long " * 2000, {"candidate_labels": ["length"]}),
    ],
    ids=["one text", "a list, multi_label, comma-separated", "a template", "over the model's length, one label"],
)
def test_answers_equal_the_pipeline_in_process(stack, reference, inputs, parameters):
    response = stack.invoke({"inputs": inputs, "parameters": parameters})
    assert response.status_code == 200, response.text
    assert_same_answers(response.json(), reference(inputs, **parameters))


def test_a_jsonlines_batch_answers_each_record_and_gives_a_bad_one_its_own_error(stack, reference):
    records = [
        {"inputs": TEXTS[0], "parameters": {"candidate_labels": LABELS}},
        {"inputs": TEXTS[1], "parameters": {"candidate_labels": LABELS, "hypothesis_template": "no slot"}},
        {"inputs": TEXTS[1:], "parameters": {"candidate_labels": ["law", "food"], "multi_label": True}},
        {"inputs": TEXTS[2]},
    ]
    body = "".join(json.dumps(record) + "\n" for record in records)
    response = stack.invoke(data=body.encode(), content_type="application/jsonlines")
    assert response.status_code == 200
    answered = [json.loads(line) for line in response.text.splitlines()]
    assert len(answered) == 4
    assert_same_answers(answered[0], reference(TEXTS[0], candidate_labels=LABELS))
    assert_same_answers(answered[2], reference(TEXTS[1:], candidate_labels=["law", "food"], multi_label=True))
    assert answered[1]["error"]["code"] == "bad_request"
    assert "parameters.hypothesis_template must contain {}" in answered[1]["error"]["message"]
    assert "parameters.candidate_labels is missing" in answered[3]["error"]["message"]


def test_a_csv_row_is_a_text_and_its_labels(stack, reference):
    rows = io.StringIO()
    csv.writer(rows).writerows([[TEXTS[2], "sports,politics"], [TEXTS[0], "cooking, sports"]])
    response = stack.invoke(data=rows.getvalue().encode(), content_type="text/csv")
    assert response.status_code == 200, response.text
    answered = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert [row[0] for row in answered] == [TEXTS[2], TEXTS[0]]
    # Each list is one cell of JSON: the labels best first, then their scores in that order.
    assert sorted(json.loads(answered[0][1])) == ["politics", "sports"]
    assert sorted(json.loads(answered[1][1])) == ["cooking", "sports"]
    scores = json.loads(answered[0][2])
    assert len(scores) == 2 and scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        (
            {"candidate_labels": LABELS, "hypothesis_template": "This is about sports."},
            "parameters.hypothesis_template must contain {}",
        ),
        (
            {"candidate_labels": [f"label {i}" for i in range(101)]},
            "parameters.candidate_labels must be a list of 1 to 100",
        ),
        ({}, "parameters.candidate_labels is missing"),
        ({"candidate_labels": LABELS, "top_k": 1}, "unknown parameters: top_k"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(stack, parameters, fragment):
    response = stack.invoke({"inputs": TEXTS[0], "parameters": parameters})
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]
    assert response.json()["error"]["code"] == "bad_request"


def test_a_model_without_an_entailment_label_fails_the_start_naming_its_labels(tmp_path):
    model = tiny_nli(tmp_path / "source", ("LABEL_0", "LABEL_1", "LABEL_2"))
    stack = Stack(model_dir_with_code(tmp_path, source=model), tmp_path / "serve.log", HF_TASK=TASK).start()
    try:
        code = stack.wait_exit(timeout_s=180)
    finally:
        stack.kill_everything()
    assert code == 1
    log = stack.log()
    assert "the model failed to load" in log and "entailment label" in log and "LABEL_0, LABEL_1, LABEL_2" in log
    assert stack.survivors() == []


def test_a_generative_hf_task_is_refused_at_once_in_one_line(tmp_path, nli):
    stack = Stack(model_dir_with_code(tmp_path, source=nli), tmp_path / "serve.log", HF_TASK="summarization").start()
    try:
        assert stack.wait_exit(timeout_s=60) == 2
    finally:
        stack.kill_everything()
    errors = [line for line in stack.log().splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "HF_TASK='summarization'" in errors[0] and "generative" in errors[0] and TASK in errors[0]
