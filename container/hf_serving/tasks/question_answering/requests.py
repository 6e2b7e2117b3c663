"""The JSON shapes a question-answering request may take, validated into QAInput items.

Accepted, as on AWS's Hugging Face container plus what clients commonly send:
    {"question": q, "context": c}                                   one answer
    {"inputs": {"question": q, "context": c}, "parameters": {...}}  one answer
    {"inputs": [{...}, {...}], "parameters": {...}}                 a list of answers, in order
    [{"question": q, "context": c}, ...]                            a list of answers, in order
and {"text": ...} wherever {"inputs": ...} is (tasks/envelope.py).
Every error names the offending field, e.g. "inputs[2].context must be a string".
"""

from __future__ import annotations

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name
from hf_serving.tasks import explaining
from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.envelope import input_field
from hf_serving.tasks.question_answering.answerer import Answer, QAInput, QAParameters

_BARE_KEYS = {"question", "context", "parameters"}


QARequest = ParsedRequest[QAInput, QAParameters]


def parse_qa_request(payload: object) -> QARequest:
    request = _parse(payload)
    explaining.check_item_count(request.parameters.explain, len(request.items), "question/context pairs")
    return request


def _parse(payload: object) -> QARequest:
    if isinstance(payload, list):
        return ParsedRequest(_parse_items(payload, "inputs"), QAParameters(), is_batch=True)
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object with question and context, or with inputs")
    field = input_field(payload)
    if field is not None:
        _reject_unknown(payload, {field, "parameters"})
        inputs = payload[field]
        parameters = QAParameters.from_request(payload.get("parameters"))
        if isinstance(inputs, list):
            return ParsedRequest(_parse_items(inputs, field), parameters, is_batch=True)
        return ParsedRequest([_parse_item(inputs, field)], parameters, is_batch=False)
    if "question" in payload or "context" in payload:
        _reject_unknown(payload, _BARE_KEYS)
        parameters = QAParameters.from_request(payload.get("parameters"))
        return ParsedRequest([_parse_item(payload, "body")], parameters, is_batch=False)
    raise BadRequest('the body must hold "inputs" (or "text"), or "question" and "context"')


def format_answers(request: QARequest, answers: list[list[Answer]]) -> object:
    """The pipeline's output shape: one answer as an object when top_k is 1, else a list."""
    per_item: list[object] = [
        found[0].to_dict()
        if request.parameters.top_k == 1 and len(found) == 1
        else [answer.to_dict() for answer in found]
        for found in answers
    ]
    return per_item if request.is_batch else per_item[0]


def _reject_unknown(payload: dict, allowed: set[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}: expected {', '.join(sorted(allowed))}")


def _parse_items(items: list, where: str) -> list[QAInput]:
    if not items:
        raise BadRequest(f"{where} must not be an empty list")
    return [_parse_item(item, f"{where}[{index}]") for index, item in enumerate(items)]


def _parse_item(item: object, where: str) -> QAInput:
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object with question and context")
    unknown = sorted(set(item) - {"question", "context"})
    if unknown and where != "body":
        raise BadRequest(f"{where} has unknown field(s) {', '.join(unknown)}: expected question and context")
    question = _text_field(item, "question", where)
    context = _text_field(item, "context", where)
    return QAInput(question=question, context=context)


def _text_field(item: dict, name: str, where: str) -> str:
    label = name if where == "body" else f"{where}.{name}"
    if name not in item:
        raise BadRequest(f"{label} is missing")
    value = item[name]
    if not isinstance(value, str):
        raise BadRequest(f"{label} must be a string, not {json_type_name(value)}")
    if not value.strip():
        raise BadRequest(f"{label} must not be empty")
    return value
