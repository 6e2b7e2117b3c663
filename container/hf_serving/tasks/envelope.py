"""The envelope every task's JSON request may come in: {"inputs": ..., "parameters": {...}}.

"text" is accepted wherever "inputs" is, with the same meaning: the tutorial services this container replaces took
`POST /predict {"text": ...}`, and their clients keep working unchanged. Error messages name the field as the client
wrote it ("text[1] must not be empty").
"""

from __future__ import annotations

from collections.abc import Collection

from hf_serving.errors import BadRequest
from hf_serving.formats.media import json_type_name

INPUT_FIELDS = ("inputs", "text")


def input_field(payload: dict) -> str | None:
    """The field of the payload that holds the inputs ("inputs" or "text"); None when it has neither."""
    present = [name for name in INPUT_FIELDS if name in payload]
    if len(present) > 1:
        raise BadRequest('send the inputs as "inputs" or as "text", not both')
    return present[0] if present else None


def parameters_with_top_level(payload: dict, top_level: Collection[str]) -> object:
    """The request's "parameters", with those of `top_level` that stand beside the inputs instead (TEI's bodies:
    {"inputs": ..., "normalize": false}, {"query", "texts", "raw_scores"}) put in; the same one in both places is a
    400."""
    raw = payload.get("parameters")
    beside = {name: payload[name] for name in top_level if name in payload}
    if not beside:
        return raw
    if raw is not None and not isinstance(raw, dict):
        raise BadRequest(f"parameters must be a JSON object, not {json_type_name(raw)}")
    twice = sorted(set(beside) & set(raw or {}))
    if twice:
        raise BadRequest(f"{', '.join(twice)} given both at the top level and in parameters")
    return {**(raw or {}), **beside}
