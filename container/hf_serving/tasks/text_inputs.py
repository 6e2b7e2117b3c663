"""The request shape of the tasks that take texts (classification, embeddings, per-token features).

Accepted, as on AWS's Hugging Face container:
    {"inputs": "text", "parameters": {...}}          one result
    {"inputs": ["t1", "t2"], "parameters": {...}}    one result per text, in order
    "text" or ["t1", "t2"]                           the same without parameters
and {"text": ...} wherever {"inputs": ...} is (tasks/envelope.py).
A task may also take some parameters at the top level, beside "inputs" (text-embeddings-inference's shape:
{"inputs": ..., "normalize": false}). A JSON Lines record is any of these; a CSV row is one text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TypeVar

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name
from hf_serving.tasks.base import ParsedRequest
from hf_serving.tasks.envelope import input_field, parameters_with_top_level

Parameters = TypeVar("Parameters")
Item = TypeVar("Item")


def parse_text_request(
    payload: object, parse_parameters: Callable[[object], Parameters], top_level: Collection[str] = ()
) -> ParsedRequest[str, Parameters]:
    return parse_items_request(payload, parse_parameters, text_item, top_level)


def parse_items_request(
    payload: object,
    parse_parameters: Callable[[object], Parameters],
    read_item: Callable[[object, str], Item],
    top_level: Collection[str] = (),
) -> ParsedRequest[Item, Parameters]:
    """parse_text_request with items that need not be strings: read_item(value, where) gives one item, or raises a
    BadRequest naming `where` ("inputs[2]")."""
    raw_parameters: object = None
    field = "inputs"
    if isinstance(payload, dict):
        found = input_field(payload)
        unknown = sorted(set(payload) - {found or "inputs", "parameters", *top_level})
        if unknown:
            expected = ", ".join(["inputs (or text)", "parameters", *sorted(top_level)])
            raise BadRequest(f"unknown field(s) {', '.join(unknown)}: expected {expected}")
        if found is None:
            raise BadRequest(
                'inputs is missing: send {"inputs": "text"} or {"inputs": ["t1", "t2"]} ("text" may stand for "inputs")'
            )
        field = found
        raw_parameters = parameters_with_top_level(payload, top_level)
        payload = payload[field]
    parameters = parse_parameters(raw_parameters)
    if isinstance(payload, list):
        if not payload:
            raise BadRequest(f"{field} must not be an empty list")
        return ParsedRequest(
            [read_item(item, f"{field}[{i}]") for i, item in enumerate(payload)], parameters, is_batch=True
        )
    return ParsedRequest([read_item(payload, field)], parameters, is_batch=False)


def text_item(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string, not {json_type_name(value)}")
    if not value.strip():
        raise BadRequest(f"{where} must not be empty")
    return value


def no_parameters(raw: object) -> None:
    if raw not in (None, {}):
        raise BadRequest("this task takes no parameters")


def parse_plain_text_request(payload: object) -> ParsedRequest[str, None]:
    return parse_text_request(payload, no_parameters)
