"""The frames the Python worker sends to MMS's Java side, parsed as MMS 1.1.11's ModelResponseDecoder does.

Each response's Content-Type travels in its frame's own field, and in its header map as MMS's context keeps it;
a header map of any size is safe with the fixed decoder (tests/unit/launcher/test_mms_fix.py decodes such a frame
split at every byte; tests/integration/test_serving_stack.py checks what a client receives)."""

from __future__ import annotations

import json
import re

from mms.context import Context
from mms.protocol.otf_message_handler import create_predict_response

from hf_serving.errors import ERROR_CONTENT_TYPE
from hf_serving.serving import handler_service
from tests.support.mms_worker import USER_CODE, mms_context, parse_frame

GOOD = json.dumps({"question": "Which port?", "context": "It listens on port 8080."}).encode()


def run(context: Context, bodies: list[bytes]) -> list[dict]:
    handler_service.handle(None, context)
    responses = handler_service.handle([{"body": body} for body in bodies], context)
    frame = create_predict_response(
        responses, {i: f"req-{i}" for i in range(len(bodies))}, "Prediction success", 200, context
    )
    return parse_frame(bytes(frame))


def test_each_response_carries_its_own_status_content_type_and_server_timing(worker):
    predictions = run(mms_context(3), [GOOD, b"{broken", GOOD])
    assert [p["status"] for p in predictions] == [200, 400, 200]
    assert [p["phrase"] for p in predictions] == ["OK", "Bad Request", "OK"]
    assert [p["content_type"] for p in predictions] == ["application/json", ERROR_CONTENT_TYPE, "application/json"]
    # The map repeats the type under MMS's own key (Java sets the same header from both); the stages only: nginx
    # adds the total.
    assert [p["headers"].get("content-type") for p in predictions] == [p["content_type"] for p in predictions]
    assert all(set(p["headers"]) == {"content-type", "Server-Timing"} for p in predictions)
    assert all(
        re.fullmatch(r"tokenise;dur=[0-9.]+, inference;dur=[0-9.]+, encode;dur=[0-9.]+", p["headers"]["Server-Timing"])
        for p in predictions
    )
    assert json.loads(predictions[1]["body"])["error"]["code"] == "bad_request"


def test_a_header_a_hook_sets_goes_in_the_map(worker):
    worker.mkdir()
    (worker / "inference.py").write_text(USER_CODE)
    [prediction] = run(mms_context(1), [GOOD])
    assert prediction["content_type"] == "application/json"
    assert prediction["headers"]["X-Amzn-SageMaker-Custom-Attributes"] == "seen"
    assert set(prediction["headers"]) == {"X-Amzn-SageMaker-Custom-Attributes", "content-type", "Server-Timing"}


def test_a_bare_body_with_no_accept_type_is_sent_without_a_content_type(worker):
    """A user's output_fn may return the body alone; with no Accept header its type is unknown, and the response
    carries no Content-Type at all rather than an empty one."""
    worker.mkdir()
    (worker / "inference.py").write_text("def output_fn(prediction, accept):\n    return 'plain words'\n")
    [prediction] = run(mms_context(1), [GOOD])
    assert (prediction["status"], prediction["body"]) == (200, b"plain words")
    assert prediction["content_type"] == "" and "content-type" not in prediction["headers"]
