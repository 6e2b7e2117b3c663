"""The frames the Python worker sends to MMS's Java side, parsed as MMS 1.1.11's ModelResponseDecoder does."""

from __future__ import annotations

import json
import re

from mms.context import Context
from mms.protocol.otf_message_handler import create_predict_response

from hf_serving.errors import ERROR_CONTENT_TYPE
from hf_serving.serving import handler_service
from tests.support.mms_worker import USER_CODE, mms_context, parse_frame


def run(context: Context, bodies: list[bytes]) -> list[dict]:
    handler_service.handle(None, context)
    responses = handler_service.handle([{"body": body} for body in bodies], context)
    frame = create_predict_response(
        responses, {i: f"req-{i}" for i in range(len(bodies))}, "Prediction success", 200, context
    )
    return parse_frame(bytes(frame))


def test_content_type_travels_in_its_own_field_and_the_header_map_holds_only_server_timing(worker):
    good = json.dumps({"question": "Which port?", "context": "It listens on port 8080."}).encode()
    predictions = run(mms_context(3), [good, b"{broken", good])
    assert [p["status"] for p in predictions] == [200, 400, 200]
    assert [p["phrase"] for p in predictions] == ["OK", "Bad Request", "OK"]
    assert [p["content_type"] for p in predictions] == ["application/json", ERROR_CONTENT_TYPE, "application/json"]
    # The stages only: nginx adds the total. (A non-empty map is safe with the fixed decoder: test_mms_fix.py.)
    assert all(set(p["headers"]) == {"Server-Timing"} for p in predictions)
    assert all(
        re.fullmatch(r"tokenise;dur=[0-9.]+, inference;dur=[0-9.]+, encode;dur=[0-9.]+", p["headers"]["Server-Timing"])
        for p in predictions
    )
    assert json.loads(predictions[1]["body"])["error"]["code"] == "bad_request"


def test_a_header_a_hook_sets_still_goes_in_the_map(worker):
    worker.mkdir()
    (worker / "inference.py").write_text(USER_CODE)
    good = json.dumps({"question": "Which port?", "context": "It listens on port 8080."}).encode()
    [prediction] = run(mms_context(1), [good])
    assert prediction["content_type"] == "application/json"
    assert prediction["headers"]["X-Amzn-SageMaker-Custom-Attributes"] == "seen"
    assert set(prediction["headers"]) == {"X-Amzn-SageMaker-Custom-Attributes", "Server-Timing"}
