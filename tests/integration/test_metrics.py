"""GET /metrics, Server-Timing and the JSON logs against the real stack: every count equals what the clients saw,
nginx's own answers included; the stage timings, tokens and rows are the ones of the requests sent; no request
can add a series; a worker killed is counted as a restart and its gauges drop."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import re
import socket
import time
from collections import Counter

import psutil
import pytest
import requests
from transformers import AutoTokenizer

from tests.support import metrics
from tests.support.stack import TINY_QA, Stack, model_dir_with_code
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

API_KEY = "metrics-test-key-0123456789"
GOOD = {"question": "Which port?", "context": "The container listens on port 8080."}
STAGES = ("queue", "tokenise", "inference", "encode")
# A predict_fn that takes its time: admission control has something to refuse.
SLOW_CODE = """
import time

def predict_fn(data, model):
    time.sleep(0.4)
    return model.predict(data)
"""
# A predict_fn that fails on demand: the error's log line.
FAILING_CODE = """
def predict_fn(data, model):
    if data.get("question") == "fail":
        raise RuntimeError("asked to fail")
    return model.predict(data)
"""


def _stack(tmp_path_factory, name: str, code: str | None = None, **env: str):
    tmp = tmp_path_factory.mktemp(name)
    yield from Stack(model_dir_with_code(tmp, code), tmp / "serve.log", **env).serving()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """An API key, /metrics behind it, and a per-client rate limit: nginx answers 401s and 429s itself."""
    yield from _stack(
        tmp_path_factory,
        "keyed",
        SERVE_API_KEY=API_KEY,
        SERVE_METRICS="key",
        SERVE_RATE_LIMIT_RPS="20",
        SERVE_RATE_LIMIT_BURST="5",
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from _stack(tmp_path_factory, "plain")


def _counts(samples: metrics.Samples) -> Counter:
    return Counter(
        {
            (dict(labels)["route"], dict(labels)["code"]): value
            for (name, labels), value in samples.items()
            if name == "hf_serving_requests_total"
        }
    )


def _send(url: str, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{url}{path}", timeout=30, **kwargs)


def test_the_counts_are_what_every_client_saw_nginx_own_answers_included(keyed):
    key = {"X-Api-Key": API_KEY}
    assert requests.get(f"{keyed.url}/metrics", timeout=10).status_code == 401  # SERVE_METRICS=key
    before = _counts(metrics.scrape(keyed.url, **key))
    seen: Counter = Counter()

    def note(route: str, response: requests.Response) -> None:
        seen[(route, str(response.status_code))] += 1

    for _ in range(3):
        note("/invocations", _send(keyed.url, "POST", "/invocations", json=GOOD, headers=key))
    note("/invocations", _send(keyed.url, "POST", "/invocations", json=GOOD))  # 401
    note("/invocations", _send(keyed.url, "GET", "/invocations", headers=key))  # 405
    note(
        "/invocations",
        _send(keyed.url, "POST", "/invocations", data=b"hi", headers={**key, "Content-Type": "text/plain"}),
    )  # 415, the handler's
    note(
        "/invocations",
        _send(
            keyed.url,
            "POST",
            "/invocations",
            data=b"x" * (7 * 1024 * 1024),
            headers={**key, "Content-Type": "application/json"},
        ),
    )  # 413, refused by its length
    note(
        "/invocations",
        _send(
            keyed.url,
            "POST",
            "/invocations",
            data=(b"x" * (1 << 20) for _ in range(7)),
            headers={**key, "Content-Type": "application/json"},
        ),
    )  # 413, chunked: while read
    note("other", _send(keyed.url, "GET", "/nowhere"))  # 404
    note("/ping", _send(keyed.url, "GET", "/ping"))
    note("/execution-parameters", _send(keyed.url, "GET", "/execution-parameters", headers=key))
    with concurrent.futures.ThreadPoolExecutor(12) as pool:  # past 20 req/s and a burst of 5: some 429s
        for response in pool.map(lambda _: _send(keyed.url, "POST", "/invocations", json=GOOD, headers=key), range(24)):
            note("/invocations", response)
    assert {("/invocations", code) for code in ("200", "401", "405", "413", "415", "429")} <= set(seen)
    assert seen[("/invocations", "413")] == 2  # the body with a Content-Length and the chunked one
    # A response is counted in nginx's log phase, which for a 413 runs once the connection's lingering close ends (a
    # moment after the client has its answer): scrape until every response is in, within a bound.
    after, scrapes = Counter(), 0

    def all_counted() -> bool:
        nonlocal after, scrapes
        after, scrapes = _counts(metrics.scrape(keyed.url, **key)), scrapes + 1
        return Counter({k: v for k, v in (after - before).items() if k[0] != "/metrics"}) == seen

    wait_until(all_counted, deadline_s=10, every_s=0.2)
    counted = after - before
    scrapes_counted = counted.pop(("/metrics", "200"), 0)
    assert counted == seen
    assert 1 <= scrapes_counted <= scrapes  # the first scrape and the polls before the last, each once it was sent


def test_unknown_routes_and_content_types_add_no_series(stack):
    for warm in (
        lambda: _send(stack.url, "GET", "/unknown"),
        lambda: _send(stack.url, "POST", "/invocations", data=b"x", headers={"Content-Type": "text/a"}),
    ):
        warm()
    metrics.scrape(stack.url)  # the route /metrics' own series exist from its first answer on
    before = metrics.scrape(stack.url)
    for i in range(1000):
        _send(stack.url, "GET", f"/unknown-{i}?q={i}")
    for i in range(100):
        _send(stack.url, "POST", "/invocations", data=b"x", headers={"Content-Type": f"text/x-{i}"})
    after = metrics.scrape(stack.url)
    assert set(after) == set(before)
    assert (
        metrics.total(after, "hf_serving_requests_total", route="other", code="404")
        - metrics.total(before, "hf_serving_requests_total", route="other", code="404")
        == 1000
    )


def test_a_route_written_another_way_is_counted_as_the_route_that_answered(stack):
    # nginx routes by the normalized path (decoded, slashes merged, dot segments resolved): these reach the model and
    # were counted as "other".
    paths = ("//invocations", "/%69nvocations", "/./invocations", "/x/../invocations")
    before = metrics.scrape(stack.url)
    for path in paths:  # http.client sends a path as written (requests would resolve the dots and the %69)
        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
        connection.request("POST", path, body=json.dumps(GOOD), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        status, answer = response.status, json.loads(response.read())
        connection.close()
        assert status == 200, path
        assert GOOD["context"][answer["start"] : answer["end"]] == answer["answer"], path
    # A malformed chunked body: nginx's 400, answered through an error page's URI (/.errors/bad-request).
    with socket.create_connection(("127.0.0.1", stack.port), timeout=30) as client:
        client.sendall(
            b"POST //invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        )
        reply = b"".join(iter(lambda: client.recv(4096), b""))
    assert reply.startswith(b"HTTP/1.1 400") and b'"code":"bad_request"' in reply
    after = metrics.scrape(stack.url)
    counted = _counts(after) - _counts(before)
    assert counted == Counter({("/invocations", "200"): len(paths), ("/invocations", "400"): 1, ("/metrics", "200"): 1})


def test_server_timing_names_each_stage_and_the_total(stack):
    answered = stack.invoke(GOOD)
    assert answered.status_code == 200
    timing = dict(part.split(";dur=") for part in answered.headers["Server-Timing"].split(", "))
    assert list(timing) == [*STAGES, "total"]
    durations = {stage: float(value) for stage, value in timing.items()}
    assert all(value >= 0 for value in durations.values())
    assert durations["total"] >= durations["inference"] > 0
    refused = _send(stack.url, "GET", "/nowhere")  # answered by nginx alone: the total only
    assert refused.status_code == 404
    assert re.fullmatch(r"total;dur=[0-9.]+", refused.headers["Server-Timing"])


def test_tokens_rows_batches_and_stages_are_those_of_the_requests_sent(stack):
    tokenizer = AutoTokenizer.from_pretrained(TINY_QA)
    contexts = ["The container listens on port 8080.", "Answers come back as JSON.", "Models load at start."]
    batch = {"inputs": [{"question": "What?", "context": context} for context in contexts]}
    expected_tokens = [len(tokenizer("What?", context)["input_ids"]) for context in contexts]
    before = metrics.scrape(stack.url)
    assert stack.invoke(batch).status_code == 200
    after = metrics.scrape(stack.url)

    def grew(name: str) -> float:
        return metrics.total(after, name) - metrics.total(before, name)

    assert grew("hf_serving_request_tokens_count") == 1
    assert grew("hf_serving_request_tokens_sum") == sum(expected_tokens)
    assert grew("hf_serving_pass_rows_count") == 1 and grew("hf_serving_pass_rows_sum") == 3  # one pass, 3 windows
    assert grew("hf_serving_batch_requests_count") == 1 and grew("hf_serving_batch_requests_sum") == 1
    for stage in STAGES:
        labels = {"model": "model", "task": "question-answering", "stage": stage}
        assert (
            metrics.total(after, "hf_serving_stage_duration_seconds_count", **labels)
            - metrics.total(before, "hf_serving_stage_duration_seconds_count", **labels)
            == 1
        )
    edge = {"route": "/invocations", "model": "model"}
    assert (
        metrics.total(after, "hf_serving_request_duration_seconds_count", **edge)
        - metrics.total(before, "hf_serving_request_duration_seconds_count", **edge)
        == 1
    )
    assert (
        metrics.total(
            after, "hf_serving_build_info", model="model", task="question-answering", dtype="float32", device="cpu"
        )
        == 1
    )
    assert metrics.total(after, "hf_serving_ready") == 1 and metrics.total(after, "hf_serving_models_loaded") == 1
    assert metrics.total(after, "hf_serving_worker_metrics_up") == 1


def test_a_killed_worker_is_a_restart_and_its_gauges_drop(tmp_path):
    stack = Stack(model_dir_with_code(tmp_path), tmp_path / "serve.log", SAGEMAKER_MODEL_SERVER_WORKERS="2").start()
    try:
        stack.wait_ready()
        first = metrics.scrape(stack.url)
        assert metrics.total(first, "hf_serving_workers_ready", model="model") == 2
        assert metrics.total(first, "hf_serving_worker_restarts_total", model="model") == 0
        assert metrics.total(first, "hf_serving_model_load_seconds_count") == 2
        [victim, *_] = stack.forked_workers()
        victim.kill()
        psutil.wait_procs([victim], timeout=10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = metrics.scrape(stack.url)
            if (
                metrics.total(now, "hf_serving_worker_restarts_total", model="model") == 1
                and metrics.total(now, "hf_serving_workers_ready", model="model") == 2
            ):
                break
            time.sleep(0.5)
        assert metrics.total(now, "hf_serving_worker_restarts_total", model="model") == 1
        assert metrics.total(now, "hf_serving_workers_ready", model="model") == 2  # the dead one's gauge is gone
        assert metrics.total(now, "hf_serving_model_load_seconds_count") == 3
        answered = stack.invoke(GOOD)
        assert answered.status_code == 200 and "answer" in answered.json()
    finally:
        stack.kill_everything()


def test_admission_refusals_and_in_flight_requests_are_counted(tmp_path):
    stack = Stack(
        model_dir_with_code(tmp_path, SLOW_CODE),
        tmp_path / "serve.log",
        MODEL_SERVER_BATCH_SIZE="1",
        SERVE_QUEUE_TIMEOUT_S="0",
    ).start()
    try:
        stack.wait_ready()
        slots = metrics.total(metrics.scrape(stack.url), "hf_serving_admission_slots", model="model")
        assert slots == 2  # two batches of one for the one worker
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(stack.invoke, GOOD) for _ in range(8)]
            time.sleep(0.2)
            during = metrics.scrape(stack.url)
            responses = [future.result() for future in futures]
        refused = [r for r in responses if r.status_code == 503]
        assert refused and all(r.json()["error"]["code"] == "overloaded" for r in refused)
        assert metrics.total(during, "hf_serving_requests_in_flight", model="model") == slots
        after = metrics.scrape(stack.url)
        assert metrics.total(after, "hf_serving_admission_refusals_total", model="model") == len(refused)
        assert metrics.total(after, "hf_serving_requests_total", route="/invocations", code="503") == len(refused)
        assert metrics.total(after, "hf_serving_requests_total", route="/invocations", code="200") == len(
            responses
        ) - len(refused)
        assert metrics.total(after, "hf_serving_requests_in_flight", model="model") == 0
    finally:
        stack.kill_everything()


def test_json_logs_one_object_per_line_with_the_request_fields(tmp_path):
    stack = Stack(
        model_dir_with_code(tmp_path, FAILING_CODE), tmp_path / "serve.log", LOG_FORMAT="json", SERVE_METRICS="off"
    ).start()
    try:
        stack.wait_ready()
        answered = stack.invoke(GOOD)
        failed = stack.invoke({"question": "fail", "context": "c"})
        assert (answered.status_code, failed.status_code) == (200, 500)
        off = _send(stack.url, "GET", "/metrics")
        assert off.status_code == 404 and "SERVE_METRICS=off" in off.json()["error"]["message"]
        time.sleep(1.5)  # nginx flushes its access log each second
        lines = stack.log().splitlines()
    finally:
        stack.kill_everything()
    records = [json.loads(line) for line in lines]  # every line, whoever wrote it
    assert all({"time", "level", "logger"} <= set(record) for record in records)
    request_id = answered.headers["X-Request-Id"]
    [handled] = [r for r in records if r["logger"] == "hf_serving.requests" and r.get("request_id") == request_id]
    assert handled["status"] == 200 and handled["model"] == "model" and handled["batch_size"] == 1
    assert set(handled["stages_ms"]) == set(STAGES) and handled["tokens"] > 0
    [access] = [r for r in records if r["logger"] == "nginx.access" and r["request_id"] == request_id]
    assert access["status"] == 200 and access["route"] == "/invocations"
    assert access["server_timing"] == answered.headers["Server-Timing"]
    failure_id = failed.headers["X-Request-Id"]
    [error] = [r for r in records if r["level"] == "ERROR" and r.get("message") == f"request {failure_id} failed"]
    assert "RuntimeError: asked to fail" in error["exception"]
    [configuration] = [r for r in records if r.get("message") == "start-up configuration"]
    assert configuration["configuration"]["task"] == "question-answering"
    assert "api_key" not in configuration["configuration"]
    assert not [r for r in records if r["logger"] == "nginx.access" and r["route"] == "/ping"]  # SERVE_LOG_PING
