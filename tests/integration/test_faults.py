"""Faults a fleet sees: a model worker killed under load, and out of memory while loading."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

GOOD = {"question": "Which port?", "context": "The container listens on port 8080."}


def ready_workers(stack: Stack) -> list[int]:
    stack.track()
    return [process.pid for process in stack.forked_workers()]


def test_a_killed_worker_is_replaced_while_requests_get_fast_503s_and_nothing_hangs(tmp_path):
    stack = Stack(model_dir_with_code(tmp_path), tmp_path / "serve.log").start()
    outcomes: list[tuple[float, int, float]] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                status = stack.invoke(GOOD, timeout=30).status_code
            except requests.RequestException:
                status = -1
            outcomes.append((started, status, time.monotonic() - started))

    try:
        stack.wait_ready()
        [worker] = ready_workers(stack)
        threads = [threading.Thread(target=load) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        killed_at = time.monotonic()
        os.kill(worker, signal.SIGKILL)
        pings, probes = [], []
        while time.monotonic() - killed_at < 90:
            started = time.monotonic()
            response = stack.ping(timeout=2.0)
            assert time.monotonic() - started < 2.0
            pings.append((started - killed_at, response.status_code))
            if response.status_code == 200 and started - killed_at > 1.0:
                break
            if response.status_code == 503:  # a new request in the gap: refused at once, never queued
                started = time.monotonic()
                probes.append((stack.invoke(GOOD, timeout=30).status_code, time.monotonic() - started))
            time.sleep(0.1)
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert stack.process.poll() is None  # the container was not restarted
        after_kill = ready_workers(stack)
        assert after_kill and worker not in after_kill  # a new worker took over
    finally:
        stop.set()
        stack.kill_everything()
    assert 503 in [status for _, status in pings] and pings[-1][1] == 200
    first_503 = next(at for at, status in pings if status == 503)
    assert first_503 < 1.5  # /ping noticed within moments
    # Every probe was answered at once, never queued behind the restart. All but the last were refused; the last may
    # find the new worker ready already (the ready file can reappear between its /ping and its POST).
    assert probes and all(took < 1.0 for _, took in probes), probes
    statuses = [status for status, _ in probes]
    assert 503 in statuses and set(statuses[:-1]) <= {503} and statuses[-1] in (200, 503), probes
    assert all(status in (200, 503) for _, status, _ in outcomes)  # the request the worker died on: 503
    assert max(took for _, _, took in outcomes) < 30
    after = [status for started, status, _ in outcomes if started > killed_at + pings[-1][0] + 0.2]
    assert after and set(after) == {200}


OUT_OF_MEMORY = """
def model_fn(model_dir):
    raise MemoryError("cannot allocate 64 GiB for the weights")
"""


def test_out_of_memory_in_model_fn_is_logged_and_exits_non_zero(tmp_path):
    stack = Stack(model_dir_with_code(tmp_path, code=OUT_OF_MEMORY), tmp_path / "serve.log").start()
    try:
        code = stack.wait_exit(timeout_s=90)
    finally:
        stack.kill_everything()
    assert code == 1
    assert "the model failed to load: MemoryError: cannot allocate 64 GiB for the weights" in stack.log()
