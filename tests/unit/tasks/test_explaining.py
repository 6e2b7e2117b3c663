"""What explanations share across tasks: the request's parameters and their bounds, the baseline, the tokens."""

from __future__ import annotations

import numpy as np
import pytest

from hf_serving.errors import BadRequest
from hf_serving.tasks import explaining
from hf_serving.tasks.explaining import ExplainRequest, TokenSpan, explain_request
from hf_serving.tasks.question_answering.requests import parse_qa_request
from hf_serving.tasks.text_classification.requests import parse_classification_request


def test_explain_is_off_unless_asked_and_starts_at_the_default_steps():
    assert explain_request({}) == ExplainRequest(False, explaining.DEFAULT_STEPS)
    assert explain_request({"explain": True}) == ExplainRequest(True, explaining.DEFAULT_STEPS)
    assert explain_request({"explain": True, "explain_steps": 256}) == ExplainRequest(True, 256)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"explain": "yes"}, "parameters.explain must be true or false, not string"),
        ({"explain": 1}, "parameters.explain must be true or false, not number"),
        ({"explain": True, "explain_steps": 0}, "explain_steps must be an integer from 1 to 256"),
        ({"explain": True, "explain_steps": 257}, "explain_steps must be an integer from 1 to 256"),
        ({"explain": True, "explain_steps": True}, "explain_steps must be an integer"),
        ({"explain_steps": 8}, "explain_steps needs parameters.explain: true"),
    ],
)
def test_bad_explain_parameters_are_400s_naming_them(parameters, message):
    with pytest.raises(BadRequest) as caught:
        explain_request(parameters)
    assert message in caught.value.message


def test_an_explain_request_holds_at_most_eight_items_in_either_task():
    texts = [f"text {i}" for i in range(9)]
    assert len(parse_classification_request({"inputs": texts[:8], "parameters": {"explain": True}}).items) == 8
    assert len(parse_classification_request({"inputs": texts}).items) == 9  # without explain: no such bound
    with pytest.raises(BadRequest, match="at most 8 texts, not 9"):
        parse_classification_request({"inputs": texts, "parameters": {"explain": True}})
    pairs = [{"question": "q?", "context": text} for text in texts]
    with pytest.raises(BadRequest, match="at most 8 question/context pairs, not 9"):
        parse_qa_request({"inputs": pairs, "parameters": {"explain": True}})


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"explain_label": "POSITIVE"}, "explain_label must be a label's name, with parameters.explain: true"),
        ({"explain": True, "explain_label": 3}, "parameters.explain_label must be a non-empty string"),
    ],
)
def test_explain_label_needs_explain_and_a_name(parameters, message):
    with pytest.raises(BadRequest, match=message):
        parse_classification_request({"inputs": "x", "parameters": parameters})


def test_question_answering_takes_no_explain_label():
    with pytest.raises(BadRequest, match="unknown parameters: explain_label"):
        parse_qa_request(
            {"inputs": {"question": "q?", "context": "c"}, "parameters": {"explain": True, "explain_label": "start"}}
        )


def test_the_baseline_keeps_the_special_tokens_and_pads_the_text():
    ids = np.array([[101, 2023, 2001, 9643, 102]])
    special = np.array([[1, 0, 0, 0, 1]])
    assert explaining.baseline_ids(ids, special, 0).tolist() == [[101, 0, 0, 0, 102]]


def test_tokens_are_their_own_characters_with_offsets_and_field():
    texts = {"question": "Who?", "context": "Ada wrote it."}
    spans = [TokenSpan(1, 0, 3, "question"), TokenSpan(3, 0, 3, "context"), TokenSpan(4, 4, 9, "context")]
    entries = explaining.token_entries(spans, texts, np.array([0.0, 0.5, 0.0, 2.0, -1.0]))
    assert entries == [
        {"token": "Who", "field": "question", "start": 0, "end": 3, "attribution": 0.5},
        {"token": "Ada", "field": "context", "start": 0, "end": 3, "attribution": 2.0},
        {"token": "wrote", "field": "context", "start": 4, "end": 9, "attribution": -1.0},
    ]


def test_without_an_explainer_explain_is_a_400_saying_why():
    refuse = explaining.unavailable("SERVE_EXPLAIN=off")
    with pytest.raises(BadRequest, match="explanations are not available here: SERVE_EXPLAIN=off"):
        refuse()
