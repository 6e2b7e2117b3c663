"""A worker still busy past the invocation timeout is killed and replaced: no orphan computing beside the new one,
no zombie, and the next request is answered."""

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
SPINNING_CODE = '''
from hf_serving.serving.default_hooks import predict_fn as default_predict_fn


def predict_fn(data, model):
    if isinstance(data, dict) and data.get("question") == "spin":
        while True:
            pass
    return default_predict_fn(data, model)
'''


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
    yield from Stack(model_dir_with_code(tmp_path, SPINNING_CODE), tmp_path / "serve.log",
                     SAGEMAKER_MODEL_SERVER_TIMEOUT=str(TIMEOUT_S)).serving()


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
    wait_for(lambda: stack.ping().status_code == 200 and len(stack.forked_workers()) == 1, 90,
             "a new ready worker", stack)
    answered = stack.invoke(GOOD, timeout=60)
    assert answered.status_code == 200 and answered.json()["answer"]
    [replacement] = stack.forked_workers()
    assert replacement.pid != spinning.pid and replacement.parent().pid == listener.pid
    assert not [child for child in listener.children() if child.status() == psutil.STATUS_ZOMBIE]

