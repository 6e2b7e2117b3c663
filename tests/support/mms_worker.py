"""multi-model-server's worker side in-process: handle() with a fresh service, MMS's own context, and its frames
parsed as MMS 1.1.11's Java decoder parses them."""

from __future__ import annotations

import struct

import pytest
from mms.context import Context, RequestProcessor

from hf_serving.serving import handler_service
from hf_serving.settings import Settings, settings_in_use
from tests.support.paths import TINY_QA

USER_CODE = (
    "def output_fn(prediction, accept, context):\n"
    "    context.set_custom_attributes('seen')\n"
    "    import json\n"
    "    return json.dumps(prediction), 'application/json'\n"
)


@pytest.fixture
def worker(monkeypatch, tmp_path):
    """handle() as MMS's worker calls it, with a fresh service each test."""
    code_dir = tmp_path / "code"
    monkeypatch.setattr(handler_service, "_service", None)
    with settings_in_use(Settings(model_dir=TINY_QA, dtype="float32", code_dir_override=code_dir)):
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
        value = frame[offset : offset + length]
        offset += length
        return value

    read_int()
    read_bytes()
    predictions = []
    while (id_length := read_int()) != -1:  # the list ends with -1
        request_id = frame[offset : offset + id_length]
        offset += id_length
        content_type, status, phrase = read_bytes(), read_int(), read_bytes()
        headers = {read_bytes().decode(): read_bytes().decode() for _ in range(read_int())}
        predictions.append(
            {
                "request_id": request_id.decode(),
                "content_type": content_type.decode(),
                "status": status,
                "phrase": phrase.decode(),
                "headers": headers,
                "body": read_bytes(),
            }
        )
    return predictions
