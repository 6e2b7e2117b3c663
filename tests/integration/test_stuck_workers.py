"""No request holds a worker past the invocation timeout: the parameters that multiply work are bounded (a 400 naming
the bound), long loops give up at the deadline, and a worker still busy past it is killed and replaced: no orphan
computing beside the new one, no zombie, and the next request is answered."""

from __future__ import annotations

import time

import psutil
import pytest

from hf_serving.launcher.stuck_workers import KILL_GRACE_S
from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

TIMEOUT_S = 3
GOOD = {"question": "Which port?", "context": "The container listens on port 8080."}
# A user predict_fn that never checks the deadline, never returns and never lets go of the GIL for long.
SPINNING_CODE = """
from hf_serving.serving.default_hooks import predict_fn as default_predict_fn


def predict_fn(data, model):
    if isinstance(data, dict) and data.get("question") == "spin":
        while True:
            pass
    return default_predict_fn(data, model)
"""


def gone(pid: int) -> bool:
    """Neither running nor a zombie: reaped."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_DEAD
    except psutil.NoSuchProcess:
        return True


def wait_for(condition, deadline_s: float, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {deadline_s} s:\n{stack.log()[-3000:]}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("stuck")
    yield from Stack(
        model_dir_with_code(tmp_path, SPINNING_CODE),
        tmp_path / "serve.log",
        SAGEMAKER_MODEL_SERVER_TIMEOUT=str(TIMEOUT_S),
    ).serving()


def test_a_spinning_predict_fn_is_a_504_then_killed_reaped_and_replaced(stack):
    [spinning] = stack.forked_workers()
    listener = spinning.parent()
    started = time.monotonic()
    response = stack.invoke({"question": "spin", "context": "The worker never answers this one."}, timeout=60)
    assert response.status_code == 504
    body = response.json()
    assert body["error"]["code"] == "timeout" and body["error"]["request_id"]
    # Killed at the deadline plus the grace, then reaped: not left computing, not a zombie. Bounded generously for
    # a loaded machine (the launcher looks every 0.1 s).
    wait_for(lambda: gone(spinning.pid), TIMEOUT_S + KILL_GRACE_S + 30, "the spinning worker gone", stack)
    assert time.monotonic() - started >= TIMEOUT_S
    assert f"worker {spinning.pid} is still busy" in stack.log()
    # A new worker, forked by the same listener, answers; readiness comes back.
    wait_for(
        lambda: stack.ping().status_code == 200 and len(stack.forked_workers()) == 1, 90, "a new ready worker", stack
    )
    answered = stack.invoke(GOOD, timeout=60)
    assert answered.status_code == 200 and answered.json()["answer"]
    [replacement] = stack.forked_workers()
    assert replacement.pid != spinning.pid and replacement.parent().pid == listener.pid
    assert not [child for child in listener.children() if child.status() == psutil.STATUS_ZOMBIE]


def ready_worker(stack: Stack) -> psutil.Process:
    wait_for(lambda: stack.ping().status_code == 200 and len(stack.forked_workers()) == 1, 90, "a ready worker", stack)
    [worker] = stack.forked_workers()
    return worker


def words(count: int) -> str:
    return " ".join(f"word{index % 997} port{index % 89}" for index in range(count))


def test_a_huge_qa_top_k_is_a_400_naming_its_bound_and_holds_no_worker(stack):
    # The attack: 100 KB of context with top_k 20,000 held the worker for minutes (every request a 504).
    worker = ready_worker(stack)
    started = time.monotonic()
    response = stack.invoke(
        {"inputs": {"question": "Which port?", "context": words(8000)}, "parameters": {"top_k": 20000}}, timeout=60
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "parameters.top_k must be an integer from 1 to 100"
    assert time.monotonic() - started < TIMEOUT_S
    assert stack.invoke(GOOD, timeout=60).json()["answer"] and stack.forked_workers() == [worker]


def test_windows_that_barely_move_are_a_400_naming_the_least_move(stack):
    ready_worker(stack)
    response = stack.invoke(
        {
            "inputs": {"question": "Which port?", "context": words(8000)},
            "parameters": {"max_seq_len": 64, "doc_stride": 56},
        },
        timeout=60,
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("inputs[0]: with max_seq_len=64, doc_stride=56") and "must move at least 4" in message


def test_the_largest_qa_bounds_hold_the_worker_no_longer_than_the_timeout(stack):
    # 100 answers of up to 512 tokens over ~80 KB of context: span decoding once merged every window's 210
    # candidates into a list scanned for each (minutes, the model passes taking a second). Now it is linear and
    # checks the deadline each window: answered, or a 504 with the worker given up by itself, never killed.
    worker = ready_worker(stack)
    started = time.monotonic()
    response = stack.invoke(
        {
            "inputs": {"question": "Which port?", "context": words(6000)},
            "parameters": {"top_k": 100, "max_answer_len": 512},
        },
        timeout=60,
    )
    if response.status_code == 200:
        assert len(response.json()) == 100 and all(answer["answer"] for answer in response.json())
    else:
        assert response.status_code == 504 and response.json()["error"]["code"] == "timeout"
    answered = stack.invoke(GOOD, timeout=60)
    assert answered.status_code == 200 and answered.json()["answer"]
    assert time.monotonic() - started < TIMEOUT_S + KILL_GRACE_S
    assert stack.forked_workers() == [worker]
