"""serve refuses to start without a usable model (a part of the stack that dies: test_process_deaths.py)."""

from __future__ import annotations

import json
import signal
import time

import pytest
import requests

from tests.support.stack import Stack, model_dir_with_code
from tests.support.wheels import module_wheel

pytestmark = pytest.mark.integration

FAILING_MODEL_FN = """
def model_fn(model_dir):
    raise ValueError("broken weights: the checkpoint is truncated")
"""


def test_no_model_anywhere_exits_at_once_naming_both_options(tmp_path):
    stack = Stack(None, tmp_path / "serve.log").start()
    try:
        assert stack.wait_exit(timeout_s=30) == 2
    finally:
        stack.kill_everything()
    errors = [line for line in stack.log().splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert "HF_MODEL_DIR" in errors[0] and "HF_MODEL_ID" in errors[0]


def test_an_unsupported_task_is_a_clear_start_up_error(tmp_path):
    model_dir = model_dir_with_code(tmp_path)
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**config, "architectures": ["GPT2LMHeadModel"]}))
    stack = Stack(model_dir, tmp_path / "serve.log").start()
    try:
        assert stack.wait_exit(timeout_s=30) == 2
    finally:
        stack.kill_everything()
    assert "GPT2LMHeadModel" in stack.log() and "HF_TASK" in stack.log()


def test_a_bad_setting_is_refused_naming_the_variable(tmp_path):
    stack = Stack(model_dir_with_code(tmp_path), tmp_path / "serve.log", MODEL_DTYPE="fp4").start()
    try:
        assert stack.wait_exit(timeout_s=30) == 2
    finally:
        stack.kill_everything()
    assert "MODEL_DTYPE='fp4' is not one of" in stack.log()


def test_a_failing_model_fn_logs_the_cause_and_exits_non_zero_without_a_ready_ping(tmp_path):
    stack = Stack(model_dir_with_code(tmp_path, code=FAILING_MODEL_FN), tmp_path / "serve.log").start()
    pings = []
    try:
        deadline = time.monotonic() + 60
        while stack.process.poll() is None and time.monotonic() < deadline:
            stack.track()
            try:
                pings.append(stack.ping(timeout=2.0).status_code)
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        code = stack.wait_exit(timeout_s=10)
    finally:
        stack.kill_everything()
    assert code == 1
    assert 200 not in pings and 503 in pings
    log = stack.log()
    assert "broken weights: the checkpoint is truncated" in log
    assert "the model failed to load" in log
    assert stack.survivors() == []


def test_sigint_stops_the_stack_cleanly_too(tmp_path):
    stack = Stack(model_dir_with_code(tmp_path), tmp_path / "serve.log").start()
    try:
        stack.wait_ready()
        stack.process.send_signal(signal.SIGINT)
        code = stack.wait_exit(timeout_s=30)
    finally:
        stack.kill_everything()
    assert code == 0
    assert stack.survivors() == []
    assert "stopped" in stack.log()


USES_ITS_REQUIREMENT = """
import greeting_for_tests


def predict_fn(data, model):
    return {"greeting": greeting_for_tests.GREETING}
"""


def test_code_requirements_are_installed_only_when_opted_in_and_reach_the_workers(tmp_path):
    wheel = module_wheel(tmp_path, "greeting_for_tests", "GREETING = 'installed at start'\n")
    model_dir = model_dir_with_code(tmp_path, code=USES_ITS_REQUIREMENT, requirements=f"{wheel}\n")
    stack = Stack(model_dir, tmp_path / "serve.log", INSTALL_CODE_REQUIREMENTS="true").start()
    try:
        stack.wait_ready()
        response = stack.invoke({"question": "q", "context": "c"})
    finally:
        stack.kill_everything()
    assert response.status_code == 200
    assert response.json() == {"greeting": "installed at start"}
    assert "installing" in stack.log() and "requirements.txt skipped" not in stack.log()
