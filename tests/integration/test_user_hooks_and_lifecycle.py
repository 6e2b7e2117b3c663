"""A user's code/inference.py, readiness while the model loads, 500, 504, and SIGTERM with a request in flight."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

# The user's hooks: model_fn waits for a gate file (so the test sees the stack while it loads), predict_fn
# adds three test behaviours around the default one, output_fn wraps answers and echoes custom attributes.
USER_CODE = """
import json
import time
from pathlib import Path

GATE = Path(__file__).parent / "gate"


def model_fn(model_dir, context):
    from hf_serving.loading.loader import load_served_model
    from hf_serving.settings import current_settings

    deadline = time.monotonic() + 120
    while not GATE.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return load_served_model(Path(model_dir), current_settings())


def predict_fn(data, model, context):
    question = data.get("question") if isinstance(data, dict) else None
    if question == "headers":
        return {name: context.get_request_header(name) for name in data["context"].split(",")}
    if question == "sleep":
        time.sleep(float(data["context"]))
        return {"slept": float(data["context"])}
    if question == "explode":
        raise RuntimeError("secret detail that must stay in the log")
    return model.predict(data)


def output_fn(prediction, accept, context):
    context.set_custom_attributes("seen=" + (context.custom_attributes or "none"))
    return json.dumps({"user_output": prediction}), "application/json"
"""
INVOCATION_TIMEOUT_S = 3


@pytest.fixture(scope="module")
def loading_stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("user-hooks")
    model_dir = model_dir_with_code(tmp, code=USER_CODE)
    running = Stack(model_dir, tmp / "serve.log", SAGEMAKER_MODEL_SERVER_TIMEOUT=str(INVOCATION_TIMEOUT_S)).start()
    running.gate = model_dir / "code" / "gate"
    try:
        yield running
    finally:
        running.kill_everything()


def test_ping_is_503_json_and_fast_while_the_model_loads(loading_stack):
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline and len(seen) < 10:
        try:
            started = time.monotonic()
            response = loading_stack.ping(timeout=2.0)
        except requests.ConnectionError:  # nginx not listening yet
            time.sleep(0.1)
            continue
        assert time.monotonic() - started < 2.0
        seen.append(response)
        time.sleep(0.2)
    assert len(seen) == 10
    for response in seen:
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "not_ready"
    invocation = loading_stack.invoke({"question": "q", "context": "c"})
    assert invocation.status_code == 503
    assert invocation.json()["error"]["code"] == "not_ready"
    assert invocation.json()["error"]["request_id"] == invocation.headers["X-Request-Id"]


def test_ping_turns_200_once_model_fn_has_finished(loading_stack):
    loading_stack.gate.touch()
    loading_stack.wait_ready()
    assert loading_stack.ping().json() == {"status": "ready"}


def test_user_hooks_replace_the_defaults_one_by_one(loading_stack):
    context = "The answer lives in this context."
    response = loading_stack.invoke(
        {"question": "Where?", "context": context}, X_Amzn_SageMaker_Custom_Attributes="trace=abc"
    )
    assert response.status_code == 200
    answer = response.json()["user_output"]  # the user's output_fn
    assert context[answer["start"] : answer["end"]] == answer["answer"]  # the default input_fn/predict path
    assert response.headers["X-Amzn-SageMaker-Custom-Attributes"] == "seen=trace=abc"
    assert "predict_fn (user)" in loading_stack.log() and "input_fn (default)" in loading_stack.log()


def test_an_exception_in_a_hook_is_a_generic_500_with_the_traceback_in_the_log_only(loading_stack):
    response = loading_stack.invoke({"question": "explode", "context": "x"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert "secret detail" not in response.text and "Traceback" not in response.text
    deadline = time.monotonic() + 5
    while "secret detail that must stay in the log" not in loading_stack.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "secret detail that must stay in the log" in loading_stack.log()
    assert error["request_id"] in loading_stack.log()
    assert loading_stack.invoke({"question": "Where?", "context": "here"}).status_code == 200


def test_ping_answers_200_within_2_s_while_every_worker_is_busy(loading_stack):
    busy = threading.Thread(target=loading_stack.invoke, args=({"question": "sleep", "context": "2"},))
    busy.start()
    time.sleep(0.3)
    for _ in range(5):
        started = time.monotonic()
        assert loading_stack.ping(timeout=2.0).status_code == 200
        assert time.monotonic() - started < 0.5
    busy.join()


def test_over_the_invocation_timeout_is_a_json_504_and_the_worker_serves_afterwards(loading_stack):
    started = time.monotonic()
    response = loading_stack.invoke({"question": "sleep", "context": str(INVOCATION_TIMEOUT_S + 2)})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
    assert INVOCATION_TIMEOUT_S - 0.5 < time.monotonic() - started < INVOCATION_TIMEOUT_S + 2
    after = loading_stack.invoke({"question": "Where?", "context": "right here"}, timeout=30)
    assert after.status_code == 200
    assert "user_output" in after.json()


def test_a_hook_sees_the_headers_sagemaker_forwards_and_no_other(loading_stack):
    loading_stack.wait_ready()
    names = "Accept,X-Amzn-SageMaker-Target-Model,X-Amzn-SageMaker-Inference-Id,X-Something,Authorization,X-Request-Id"
    response = loading_stack.invoke(
        {"question": "headers", "context": names},
        Accept="application/json",
        X_Amzn_SageMaker_Target_Model="sentiment.tar.gz",
        X_Amzn_SageMaker_Inference_Id="inference-7",
        X_Something="dropped",
        Authorization="Bearer not-for-the-worker",
    )
    assert response.status_code == 200, response.text
    seen = response.json()["user_output"]
    assert seen == {
        "Accept": "application/json",
        "X-Amzn-SageMaker-Target-Model": "sentiment.tar.gz",
        "X-Amzn-SageMaker-Inference-Id": "inference-7",
        "X-Something": None,
        "Authorization": None,
        "X-Request-Id": response.headers["X-Request-Id"],
    }


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0_leaving_nothing(loading_stack):
    loading_stack.track()
    assert loading_stack.descendants
    result: dict[str, requests.Response] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("response", loading_stack.invoke({"question": "sleep", "context": "2"}))
    )
    thread.start()
    time.sleep(0.5)  # the request is in the worker now
    code = loading_stack.terminate()
    thread.join(timeout=30)
    assert result["response"].status_code == 200
    assert result["response"].json() == {"user_output": {"slept": 2.0}}
    assert code == 0
    assert loading_stack.survivors() == []
    assert "stop requested: finishing in-flight requests" in loading_stack.log()
