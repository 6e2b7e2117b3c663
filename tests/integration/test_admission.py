"""Admission control at the edge, against the real stack: a bounded queue in nginx, fast JSON refusals with
Retry-After, slots given back however a request ends, and Batch Transform's slow requests never refused.

The model is made slow on purpose (a user predict_fn that sleeps before the default one), so that the queue forms
with a handful of requests and the timings are the model's, not the machine's. The throughput and latency figures
under a real overload are a benchmark's (reliability/overload.py, `make overload`), not these tests'.
"""

from __future__ import annotations

import concurrent.futures
import socket
import time

import pytest
import requests

from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

GOOD = {"question": "Which port?", "context": "The container listens on port 8080."}


def slow_code(seconds: float) -> str:
    return f"""
import time

from hf_serving.serving.default_hooks import predict_fn as default_predict_fn


def predict_fn(data, model):
    time.sleep({seconds})
    return default_predict_fn(data, model)
"""


def settled(stack: Stack, deadline_s: float = 15.0) -> dict:
    deadline = time.monotonic() + deadline_s
    while True:
        state = stack.admission()
        if (state["in_service"] == 0 and state["waiting"] == 0) or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def timed_invoke(stack: Stack, timeout: float = 30.0) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = stack.invoke(GOOD, timeout=timeout)
    return response, time.monotonic() - started


def burst(stack: Stack, count: int) -> list[tuple[requests.Response, float]]:
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: timed_invoke(stack), range(count)))


def assert_refusal(response: requests.Response, bound_s: float) -> None:
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "overloaded"
    assert f"could not start within {bound_s:g} s" in body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["X-Request-Id"]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert f"retry after {retry_after} s" in body["error"]["message"]


@pytest.fixture(scope="module")
def slow_stack(tmp_path_factory):
    """One worker, batches of one, 0.4 s a request: 2 slots; the queue waits at most 1.5 s."""
    tmp_path = tmp_path_factory.mktemp("admission")
    stack = Stack(
        model_dir_with_code(tmp_path, slow_code(0.4)),
        tmp_path / "serve.log",
        SAGEMAKER_MODEL_SERVER_WORKERS="1",
        MODEL_SERVER_BATCH_SIZE="1",
        SERVE_QUEUE_TIMEOUT_S="1.5",
    ).start()
    try:
        stack.wait_ready()
        for _ in range(3):  # the mean service time is measured from these
            assert stack.invoke(GOOD).status_code == 200
        yield stack
    finally:
        stack.kill_everything()


def test_an_overload_is_refused_at_once_and_the_accepted_wait_at_most_the_bound_plus_two_batches(slow_stack):
    state = slow_stack.admission()
    assert (state["slots"], state["bound_s"]) == (2, 1.5)
    assert "admission: 2 requests in the model server at once, the rest queued at most 1.5 s" in slow_stack.log()

    outcomes = burst(slow_stack, 24)

    accepted = [(r, s) for r, s in outcomes if r.status_code == 200]
    refused = [(r, s) for r, s in outcomes if r.status_code != 200]
    for response, _ in accepted:  # random weights: some span of the context, at its own offsets
        answer = response.json()
        assert GOOD["context"][answer["start"] : answer["end"]] == answer["answer"]
    for response, _ in refused:
        assert_refusal(response, 1.5)
    # The two slots, and at least one request that queued and was let in.
    assert len(accepted) >= 3, [r.status_code for r, _ in outcomes]
    assert len(refused) >= 10, [r.status_code for r, _ in outcomes]
    # At most the bound (1.5 s) + one batch in the model server + its own (0.4 s each), with room for a slow CI.
    assert max(seconds for _, seconds in accepted) < 1.5 + 2 * 0.4 + 1.5
    state = settled(slow_stack)
    # Most refusals came at once, from the prediction, not after waiting out the bound.
    assert state["refused_predicted"] >= len(refused) // 2, state
    fast = sorted(seconds for _, seconds in refused)[: state["refused_predicted"]]
    assert max(fast) < 0.5, fast
    assert (state["in_service"], state["waiting"]) == (0, 0), state
    assert slow_stack.invoke(GOOD).status_code == 200  # and the capacity is whole again


def test_every_way_a_request_ends_gives_its_slot_back(slow_stack):
    port = slow_stack.port
    # The handler's own errors, after admission.
    for bad in (
        slow_stack.invoke(data=b'{"question": ', timeout=10),
        slow_stack.invoke({"question": "only"}, timeout=10),
    ):
        assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_request")
    # A body over the limit: refused by nginx while reading it, before any slot is taken.
    too_big = slow_stack.invoke(data=b"x" * (7 * 1024 * 1024), timeout=30)
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "payload_too_large")
    # Clients that hang up: one while the model works on its request, others while they wait in the queue.
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        holders = [pool.submit(timed_invoke, slow_stack) for _ in range(2)]
        time.sleep(0.1)
        for _ in range(3):
            with pytest.raises(requests.Timeout):
                slow_stack.invoke(GOOD, timeout=0.3)
        for holder in holders:
            assert holder.result()[0].status_code == 200
    # A chunked body that breaks off mid-way.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"q":\r\nzz\r\n'
        )
        assert b" 400 " in raw.recv(4096).split(b"\r\n")[0]
    state = settled(slow_stack)
    assert (state["in_service"], state["waiting"]) == (0, 0), state
    # Both slots are free: two requests at once start at once (neither waits for the other's 0.4 s).
    outcomes = burst(slow_stack, 2)
    assert [r.status_code for r, _ in outcomes] == [200, 200]
    assert max(seconds for _, seconds in outcomes) < 0.4 * 2 + 0.3


def test_with_no_queue_a_request_that_finds_every_slot_taken_is_refused_at_once(tmp_path):
    stack = Stack(
        model_dir_with_code(tmp_path, slow_code(0.5)),
        tmp_path / "serve.log",
        SAGEMAKER_MODEL_SERVER_WORKERS="1",
        MODEL_SERVER_BATCH_SIZE="1",
        SERVE_QUEUE_TIMEOUT_S="0",
    ).start()
    try:
        stack.wait_ready()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            holders = [pool.submit(timed_invoke, stack) for _ in range(2)]
            time.sleep(0.2)
            response, seconds = timed_invoke(stack)
            # A protocol's route takes the same pool, and is refused in its protocol's shape (KServe's here).
            kserve = requests.post(
                f"{stack.url}/v2/models/model/infer",
                timeout=30,
                json={"inputs": [{"name": "question", "shape": [1], "datatype": "BYTES", "data": ["Which port?"]}]},
            )
            assert [holder.result()[0].status_code for holder in holders] == [200, 200]
    finally:
        stack.kill_everything()
    assert_refusal(response, 0)
    assert seconds < 0.2
    assert kserve.status_code == 503 and kserve.json()["code"] == "overloaded", kserve.text
    assert kserve.json()["error"].startswith("the model is at capacity") and "Retry-After" in kserve.headers


def test_batch_transform_queues_slow_requests_beyond_the_slots_and_answers_every_one(tmp_path):
    """Under SAGEMAKER_BATCH the bound is the invocation timeout: more requests than slots all get answers."""
    stack = Stack(
        model_dir_with_code(tmp_path, slow_code(1.0)),
        tmp_path / "serve.log",
        SAGEMAKER_BATCH="true",
        SAGEMAKER_MODEL_SERVER_WORKERS="1",
    ).start()
    try:
        stack.wait_ready()
        state = stack.admission()
        outcomes = burst(stack, 6)
    finally:
        stack.kill_everything()
    assert (state["slots"], state["bound_s"]) == (2, 3600)
    assert [r.status_code for r, _ in outcomes] == [200] * 6
    assert all(GOOD["context"][r.json()["start"] : r.json()["end"]] == r.json()["answer"] for r, _ in outcomes)
    assert max(seconds for _, seconds in outcomes) >= 3.0  # the last ones really queued: 6 x 1 s on one worker
