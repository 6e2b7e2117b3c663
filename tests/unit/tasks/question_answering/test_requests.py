"""The JSON shapes of a question-answering request, "text" standing for "inputs" among them."""

from __future__ import annotations

import pytest

from hf_serving.errors import BadRequest
from hf_serving.tasks.question_answering.answerer import QAInput, QAParameters
from hf_serving.tasks.question_answering.requests import parse_qa_request

PAIR = {"question": "Which port?", "context": "It listens on port 8080."}
OTHER = {"question": "Who wrote it?", "context": "Ada wrote it."}


@pytest.mark.parametrize(
    ("payload", "items", "is_batch", "top_k"),
    [
        (PAIR, [PAIR], False, 1),
        ({**PAIR, "parameters": {"top_k": 2}}, [PAIR], False, 2),
        ({"inputs": PAIR}, [PAIR], False, 1),
        ({"text": PAIR}, [PAIR], False, 1),
        ({"inputs": [PAIR, OTHER], "parameters": {"top_k": 3}}, [PAIR, OTHER], True, 3),
        ({"text": [PAIR, OTHER], "parameters": {"top_k": 3}}, [PAIR, OTHER], True, 3),
        ([PAIR, OTHER], [PAIR, OTHER], True, 1),
    ],
    ids=["bare", "bare with parameters", "inputs", "text", "inputs list", "text list", "a bare list"],
)
def test_every_shape_parses_to_the_same_items(payload, items, is_batch, top_k):
    request = parse_qa_request(payload)
    assert request.items == [QAInput(**item) for item in items]
    assert (request.is_batch, request.parameters) == (is_batch, QAParameters(top_k=top_k))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"text": [PAIR, {"question": "q"}]}, "text[1].context is missing"),
        ({"inputs": [PAIR, {"question": "q"}]}, "inputs[1].context is missing"),
        ({"text": PAIR, "inputs": PAIR}, 'send the inputs as "inputs" or as "text", not both'),
        ({"text": PAIR, "extra": 1}, "unknown field(s) extra: expected parameters, text"),
        ({"text": []}, "text must not be an empty list"),
        ({"something": 1}, 'the body must hold "inputs" (or "text"), or "question" and "context"'),
    ],
)
def test_errors_name_the_field_as_the_client_wrote_it(payload, message):
    with pytest.raises(BadRequest) as caught:
        parse_qa_request(payload)
    assert message in caught.value.message
