"""The envelope every task's JSON request may come in: {"inputs": ..., "parameters": {...}}.

"text" is accepted wherever "inputs" is, with the same meaning: the tutorial services this container replaces took
`POST /predict {"text": ...}`, and their clients keep working unchanged. Error messages name the field as the client
wrote it ("text[1] must not be empty").
"""

from __future__ import annotations

from hf_serving.errors import BadRequest

INPUT_FIELDS = ("inputs", "text")


def input_field(payload: dict) -> str | None:
    """The field of the payload that holds the inputs ("inputs" or "text"); None when it has neither."""
    present = [name for name in INPUT_FIELDS if name in payload]
    if len(present) > 1:
        raise BadRequest('send the inputs as "inputs" or as "text", not both')
    return present[0] if present else None
