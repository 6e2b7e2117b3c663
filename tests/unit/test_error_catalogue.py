"""The error catalogue (hf_serving/error_catalogue.py) is the one place a code is defined: every code the Python
errors, the model management API, nginx's template and the Lua modules answer is in it, with the status they answer
it with; each protocol's shape carries the code and the message; the served OpenAPI description lists every code."""

from __future__ import annotations

import json
import re

import pytest

from hf_serving import errors
from hf_serving.api_docs import spec
from hf_serving.error_catalogue import CODES, Protocol, error_document, nginx_return
from tests.support.paths import ROOT

CONTAINER = ROOT / "container" / "hf_serving"


def test_every_code_written_anywhere_in_the_container_is_in_the_catalogue():
    written: set[str] = set()
    for path in CONTAINER.rglob("*.py"):
        text = path.read_text()
        written |= set(re.findall(r'\bcode = "([a-z_]+)"', text))
        written |= set(re.findall(r'Refused\(\s*"([a-z_]+)"', text))
        written |= set(re.findall(r'return "([a-z_]+)", [f(]?"', text)) & set(re.findall(r'"([a-z_]+)"', text))
    template = (ROOT / "docker" / "nginx.conf").read_text()
    written |= set(re.findall(r"\{\{(?:INNER_)?ERROR:([a-z_]+):", template))
    for path in (CONTAINER / "launcher" / "lua").glob("*.lua"):
        written |= set(re.findall(r'"code":"([a-z_]+)"', path.read_text()))
    assert written and written <= set(CODES), sorted(written - set(CODES))


def test_a_python_errors_status_is_its_codes():
    for error in (
        errors.BadRequest,
        errors.PayloadTooLarge,
        errors.ResponseTooLarge,
        errors.UnsupportedMediaType,
        errors.NotAcceptable,
    ):
        assert error.status == CODES[error.code].status
    assert errors.BadRequest("x", param="input").param == "input"


@pytest.mark.parametrize("protocol", list(Protocol))
def test_each_shape_carries_the_code_the_message_and_the_request_id(protocol):
    document = error_document(protocol, "payload_too_large", "too big", "abc", param="input")
    flat = json.dumps(document)
    assert '"payload_too_large"' in flat and '"too big"' in flat and '"abc"' in flat
    if protocol is Protocol.OPENAI:
        assert document["error"]["type"] == "invalid_request_error" and document["error"]["param"] == "input"
    if protocol is Protocol.TEI:
        assert document["error_type"] == "Validation"


def test_an_nginx_answer_is_valid_json_with_nginxs_request_id_and_refuses_a_quote_in_its_message():
    text = nginx_return(Protocol.TEI, "not_ready", "the model is not ready")
    status, body = re.fullmatch(r"return (\d+) '(.*)';", text).groups()
    assert status == "503"
    assert json.loads(body.replace("$request_id", "id"))["request_id"] == "id"
    with pytest.raises(ValueError):
        nginx_return(Protocol.SAGEMAKER, "bad_request", "it's")


def test_the_served_description_lists_every_code_with_its_status():
    description = spec.tailored(spec.load(), None, False)["info"]["description"]
    assert spec.ERROR_CODES_MARK not in description
    for entry in CODES.values():
        assert f"| {entry.status} | `{entry.code}` |" in description
