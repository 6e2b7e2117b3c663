"""Explanations of question answering on the trained fixture (tests/fixtures/trained-qa), whose answers are known:
the attributions point at the answer in the context and at what the question asks."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from tests.support.paths import SQUAD_SAMPLE, TRAINED_QA

QUESTION = "In which year was Daniel Novak born?"
CONTEXT = (
    "In 1936, Daniel Novak was born in Bangkok. Oscar Hansen wrote The Silent Voyage. Zara Berg was born in "
    "Santiago in 1983. Yara Rossi wrote The Broken Voyage. In 1930, Julia Jensen was born in Paris."
)


@pytest.fixture(scope="module")
def model():
    return load_served_model(TRAINED_QA, Settings(model_dir=TRAINED_QA, dtype="float32"))


def _questions():
    for article in json.loads(SQUAD_SAMPLE.read_text())["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield qa["question"], paragraph["context"], qa["answers"][0]["text"]


def test_the_context_token_that_decides_the_start_is_in_the_answer(model):
    """On the sample's questions the model answers right, the context token with the largest attribution to the
    start logit lies inside the answer (46 of 49 when this was written; 80% asked)."""
    inside = answered = 0
    for question, context, gold in _questions():
        answer = model.predict({"inputs": {"question": question, "context": context}, "parameters": {"explain": True}})
        if answer["answer"] != gold:
            continue
        answered += 1
        start = answer["explanation"]["targets"][0]
        top = max((t for t in start["tokens"] if t["field"] == "context"), key=lambda t: t["attribution"])
        inside += answer["start"] <= top["start"] and top["end"] <= answer["end"]
    assert answered >= 30
    assert inside >= 0.8 * answered, (inside, answered)


def test_start_and_end_are_explained_over_the_question_and_the_context(model):
    answer = model.predict({"inputs": {"question": QUESTION, "context": CONTEXT}, "parameters": {"explain": True}})
    assert answer["answer"] == "1936"
    start, end = answer["explanation"]["targets"]
    assert (start["target"], start["output"], end["target"], end["output"]) == (
        "start",
        "start logit",
        "end",
        "end logit",
    )
    for target in (start, end):
        assert target["converged"]
        by_field = {field: [t for t in target["tokens"] if t["field"] == field] for field in ("question", "context")}
        assert max(by_field["question"], key=lambda t: t["attribution"])["token"] == "year"
        assert max(by_field["context"], key=lambda t: t["attribution"])["token"] == "1936"
        texts = {"question": QUESTION, "context": CONTEXT}
        assert all(texts[t["field"]][t["start"] : t["end"]] == t["token"] for t in target["tokens"])
        total = sum(t["attribution"] for t in target["tokens"])
        assert target["delta"] == pytest.approx(total - (target["value"] - target["baseline_value"]), abs=1e-4)


def test_a_long_context_is_explained_in_the_window_that_holds_the_answer(model):
    context = "Nothing happened here for a long time. " * 30 + CONTEXT
    answer = model.predict(
        {
            "inputs": {"question": QUESTION, "context": context},
            "parameters": {"explain": True, "max_seq_len": 64, "doc_stride": 16},
        }
    )
    start = answer["explanation"]["targets"][0]
    spans = [(t["start"], t["end"]) for t in start["tokens"] if t["field"] == "context"]
    assert spans[0][0] <= answer["start"] and answer["end"] <= spans[-1][1]  # the answer is in the window explained
    assert len(start["tokens"]) < 64


def test_only_the_best_answer_carries_the_explanation(model):
    answers = model.predict(
        {"inputs": [{"question": QUESTION, "context": CONTEXT}], "parameters": {"explain": True, "top_k": 3}}
    )
    assert ["explanation" in answer for answer in answers[0]] == [True, False, False]


def test_the_empty_answer_is_explained_at_the_cls_token(model):
    """ "No answer" is the [CLS] token's start and end logits (the pipeline's null score)."""
    answer = model.predict(
        {
            "inputs": {"question": "In which year was Ada born?", "context": "Oscar Hansen wrote The Silent Voyage."},
            "parameters": {"explain": True, "handle_impossible_answer": True},
        }
    )
    assert (answer["answer"], answer["start"], answer["end"]) == ("", 0, 0)
    start, end = answer["explanation"]["targets"]
    assert start["converged"] and end["converged"]
    assert {t["field"] for t in start["tokens"]} == {"question", "context"}
    tokenizer = AutoTokenizer.from_pretrained(TRAINED_QA)
    reference = AutoModelForQuestionAnswering.from_pretrained(TRAINED_QA).eval()
    with torch.no_grad():
        logits = reference(
            **tokenizer("In which year was Ada born?", "Oscar Hansen wrote The Silent Voyage.", return_tensors="pt")
        )
    assert start["value"] == pytest.approx(float(logits.start_logits[0, 0]), abs=1e-4)  # position 0: [CLS]
    assert end["value"] == pytest.approx(float(logits.end_logits[0, 0]), abs=1e-4)
