"""The frames the Python worker sends to MMS's Java side, parsed as MMS 1.1.11's ModelResponseDecoder does."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from mms.context import Context, RequestProcessor
from mms.protocol.otf_message_handler import create_predict_response

from hf_serving import handler_service
from hf_serving import settings as settings_module
from hf_serving.errors import ERROR_CONTENT_TYPE
from hf_serving.settings import Settings

TINY_QA = Path(__file__).resolve().parents[1] / "fixtures" / "tiny-qa"
USER_CODE = ("def output_fn(prediction, accept, context):\n"
             "    context.set_custom_attributes('seen')\n"
             "    import json\n"
             "    return json.dumps(prediction), 'application/json'\n")


@pytest.fixture
def worker(monkeypatch, tmp_path):
    """handle() as MMS's worker calls it, with a fresh service each test."""
    code_dir = tmp_path / "code"
    monkeypatch.setattr(settings_module, "_current",
                        Settings(model_dir=TINY_QA, dtype="float32", code_dir_override=code_dir))
    monkeypatch.setattr(handler_service, "_service", None)
    yield code_dir
    import sys
    sys.modules.pop("inference", None)
    if str(code_dir) in sys.path:
        sys.path.remove(str(code_dir))


def mms_context(count: int) -> Context:
    context = Context("model", str(TINY_QA), None, count, None, "1.1.11")
    context.request_processor = [RequestProcessor({"Content-Type": "application/json"}) for _ in range(count)]
    context.request_ids = {index: f"req-{index}" for index in range(count)}
    return context


def parse_frame(frame: bytes) -> list[dict]:
    """code, message, then per prediction (until -1): request id, content type, status, phrase, header map, body."""
    offset = 0

    def read_int() -> int:
        nonlocal offset
        (value,) = struct.unpack_from("!i", frame, offset)
        offset += 4
        return value

    def read_bytes() -> bytes:
        nonlocal offset
        length = read_int()
        value = frame[offset:offset + length]
        offset += length
        return value

    read_int()
    read_bytes()
    predictions = []
    while (id_length := read_int()) != -1:  # the list ends with -1
        request_id = frame[offset:offset + id_length]
        offset += id_length
        content_type, status, phrase = read_bytes(), read_int(), read_bytes()
        headers = {read_bytes().decode(): read_bytes().decode() for _ in range(read_int())}
        predictions.append({"request_id": request_id.decode(), "content_type": content_type.decode(),
                            "status": status, "phrase": phrase.decode(), "headers": headers, "body": read_bytes()})
    return predictions


def run(context: Context, bodies: list[bytes]) -> list[dict]:
    handler_service.handle(None, context)
    responses = handler_service.handle([{"body": body} for body in bodies], context)
    frame = create_predict_response(responses, {i: f"req-{i}" for i in range(len(bodies))},
                                    "Prediction success", 200, context)
    return parse_frame(bytes(frame))


def test_content_type_travels_in_its_own_field_and_the_header_map_is_empty(worker):
    good = json.dumps({"question": "Which port?", "context": "It listens on port 8080."}).encode()
    predictions = run(mms_context(3), [good, b"{broken", good])
    assert [p["status"] for p in predictions] == [200, 400, 200]
    assert [p["phrase"] for p in predictions] == ["OK", "Bad Request", "OK"]
    assert [p["content_type"] for p in predictions] == ["application/json", ERROR_CONTENT_TYPE, "application/json"]
    assert all(p["headers"] == {} for p in predictions)
    assert json.loads(predictions[1]["body"])["error"]["code"] == "bad_request"


def test_a_header_a_hook_sets_still_goes_in_the_map(worker):
    worker.mkdir()
    (worker / "inference.py").write_text(USER_CODE)
    good = json.dumps({"question": "Which port?", "context": "It listens on port 8080."}).encode()
    [prediction] = run(mms_context(1), [good])
    assert prediction["content_type"] == "application/json"
    assert prediction["headers"] == {"X-Amzn-SageMaker-Custom-Attributes": "seen"}
