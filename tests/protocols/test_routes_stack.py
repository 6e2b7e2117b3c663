"""Everything a protocol route has, through the real stack (nginx, multi-model-server, a worker on the real
all-MiniLM-L6-v2): KServe v2's health and readiness answered at the edge; nginx's own refusals of each protocol's
routes in that protocol's error shape (the API key, the method, a body over the limit with a Content-Length and
chunked, a malformed body, a model that is not this one), each with the request id of its X-Request-Id and counted
in /metrics under its route and kind; and on a multi-model endpoint, a request routed by the path's or the body's
model name."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support import metrics
from tests.support.paths import minilm
from tests.support.stack import Stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

KEY = "routes-test-key-0123456789"
AUTH = {"X-Api-Key": KEY}
OVER_LIMIT = 7 * 1024 * 1024


def container_shape(body: dict) -> tuple[str, str, str]:
    assert set(body["error"]) == {"code", "message", "request_id"}, body
    return body["error"]["code"], body["error"]["message"], body["error"]["request_id"]


def openai_shape(body: dict) -> tuple[str, str, str]:
    assert {"message", "type", "param", "code"} <= set(body["error"]), body
    return body["error"]["code"], body["error"]["message"], body["error"]["request_id"]


def tei_shape(body: dict) -> tuple[str, str, str]:
    assert isinstance(body["error"], str) and isinstance(body["error_type"], str), body
    return body["code"], body["error"], body["request_id"]


def kserve_shape(body: dict) -> tuple[str, str, str]:
    assert isinstance(body["error"], str) and "error_type" not in body, body
    return body["code"], body["error"], body["request_id"]


# A route of each protocol: its path, the label /metrics gives it, and how its errors are read.
ROUTES: list[tuple[str, str, Callable[[dict], tuple[str, str, str]]]] = [
    ("/invocations", "/invocations", container_shape),
    ("/v1/embeddings", "/v1/embeddings", openai_shape),
    ("/embed", "/embed", tei_shape),
    ("/v2/models/model/infer", "/v2/models/{name}/infer", kserve_shape),
    ("/v1/models/model:predict", "/v1/models/{name}:predict", kserve_shape),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("routes-stack")
    yield from Stack(minilm(), tmp / "serve.log", SERVE_API_KEY=KEY).serving()


def refused(
    response: requests.Response,
    status: int,
    code: str,
    shape: Callable[[dict], tuple[str, str, str]],
    fragment: str = "",
) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    found_code, message, request_id = shape(response.json())
    assert found_code == code and fragment in message, (found_code, message)
    assert request_id == response.headers["X-Request-Id"]
    assert "total;dur=" in response.headers["Server-Timing"]


def test_kserve_v2_health_readiness_and_server_metadata_are_answered_at_the_edge(stack):
    assert (requests.get(f"{stack.url}/v2/health/live", timeout=10).json()) == {"live": True}
    assert (requests.get(f"{stack.url}/v2/health/ready", timeout=10).json()) == {"ready": True}
    server = requests.get(f"{stack.url}/v2", timeout=10)
    assert server.status_code == 200 and server.json()["name"] == "hf-serving"
    ready = requests.get(f"{stack.url}/v2/models/model/ready", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"name": "model", "ready": True})
    refused(
        requests.get(f"{stack.url}/v2/models/other/ready", timeout=10),
        404,
        "model_not_found",
        kserve_shape,
        "named model",
    )
    refused(requests.post(f"{stack.url}/v2/health/live", timeout=10), 405, "method_not_allowed", kserve_shape)


@pytest.mark.parametrize(("path", "label", "shape"), ROUTES, ids=[label for _, label, _ in ROUTES])
def test_nginxs_refusals_are_in_the_routes_shape_and_counted_under_its_route(stack, path, label, shape):
    before = metrics.scrape(stack.url, **AUTH)
    url = f"{stack.url}{path}"
    refused(requests.post(url, json={}, timeout=10), 401, "unauthorized", shape, "API key")
    refused(
        requests.post(url, json={}, headers={"Authorization": "Bearer wrong"}, timeout=10), 401, "unauthorized", shape
    )
    refused(requests.put(url, json={}, headers=AUTH, timeout=10), 405, "method_not_allowed", shape, "POST")
    refused(
        requests.post(url, data=b"x" * OVER_LIMIT, headers=AUTH, timeout=30), 413, "payload_too_large", shape, "6 MB"
    )
    refused(
        requests.post(url, data=(b"x" * (1 << 20) for _ in range(7)), headers=AUTH, timeout=30),
        413,
        "payload_too_large",
        shape,
    )
    malformed = _raw(
        stack.port,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nX-Api-Key: {KEY}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    )
    assert malformed[0] == 400 and shape(malformed[1])[0] == "bad_request"
    after = metrics.scrape(stack.url, **AUTH)

    def counted(code: str) -> float:
        return metrics.total(after, "hf_serving_requests_total", route=label, code=code) - metrics.total(
            before, "hf_serving_requests_total", route=label, code=code
        )

    def all_counted() -> bool:
        nonlocal after
        after = metrics.scrape(stack.url, **AUTH)
        return (counted("401"), counted("405"), counted("413"), counted("400")) == (2, 1, 2, 1)

    # A 413 is counted in nginx's log phase, which runs once its connection's lingering close ends (the client's
    # close, read a moment after it has the answer): a scrape sent at once can come before it. Bounded, not slept.
    wait_until(all_counted, deadline_s=10, every_s=0.1)
    assert (counted("401"), counted("405"), counted("413"), counted("400")) == (2, 1, 2, 1)
    kinds = {
        labels["kind"] for labels in metrics.series(after, "hf_serving_requests_total") if labels["route"] == label
    }
    assert kinds == {"inference"}


def test_a_model_that_is_not_this_endpoints_is_a_404_in_the_routes_shape(stack):
    refused(
        requests.post(f"{stack.url}/v2/models/bert/infer", json={}, headers=AUTH, timeout=10),
        404,
        "model_not_found",
        kserve_shape,
        "SERVE_MODEL_NAME",
    )
    refused(
        requests.post(f"{stack.url}/v1/models/bert:predict", json={}, headers=AUTH, timeout=10),
        404,
        "model_not_found",
        kserve_shape,
    )


def _raw(port: int, request: str) -> tuple[int, Any]:
    import json

    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        client.sendall(request.encode())
        data = b""
        while chunk := client.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("routes-multi-stack")
    served = Stack(None, tmp / "serve.log", SAGEMAKER_MULTI_MODEL="true")
    for running in served.serving():
        loaded = requests.post(
            f"{running.url}/models", json={"model_name": "mini lm+1", "url": str(minilm())}, timeout=400
        )
        assert loaded.status_code == 200, loaded.text
        yield running


def test_a_multi_model_endpoint_routes_by_the_paths_name_and_refuses_single_model_routes(multi):
    ready = requests.get(f"{multi.url}/v2/models/mini%20lm+1/ready", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"name": "mini lm+1", "ready": True})
    refused(requests.get(f"{multi.url}/v2/models/other/ready", timeout=10), 404, "model_not_found", kserve_shape)
    refused(
        requests.post(f"{multi.url}/v2/models/other/infer", json={}, timeout=10),
        404,
        "model_not_found",
        kserve_shape,
        "not loaded",
    )
    refused(
        requests.post(f"{multi.url}/embed", json={"inputs": "x"}, timeout=10),
        404,
        "not_found",
        tei_shape,
        "/models/{name}/invoke",
    )


def test_a_multi_model_endpoint_routes_openai_by_the_bodys_model(multi):
    refused(
        requests.post(f"{multi.url}/v1/embeddings", json={"input": "x"}, timeout=10),
        400,
        "bad_request",
        openai_shape,
        "name the model",
    )
    refused(
        requests.post(f"{multi.url}/v1/embeddings", json={"input": "x", "model": "other"}, timeout=10),
        404,
        "model_not_found",
        openai_shape,
    )
    refused(
        requests.post(f"{multi.url}/v1/embeddings", data=b"{not json", timeout=10), 400, "bad_request", openai_shape
    )


def test_bad_requests_of_every_protocol_beside_good_ones_lose_nothing_in_flight(stack):
    """Good and bad requests of each protocol at once: every good one gets its vector (equal across the protocols:
    one model), every bad one its own error in its shape, and the workers that answered are the ones that started."""
    import concurrent.futures

    import numpy as np

    workers = {process.pid for process in stack.forked_workers()}
    text = "A man is eating food."
    good = [
        ("/invocations", {"inputs": [text]}, lambda body: body[0]),
        (
            "/v1/embeddings",
            {"model": "m", "input": [text], "encoding_format": "float"},
            lambda body: body["data"][0]["embedding"],
        ),
        ("/embed", {"inputs": [text]}, lambda body: body[0]),
        (
            "/v2/models/model/infer",
            {"inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": [text]}]},
            lambda body: body["outputs"][0]["data"],
        ),
    ]
    bad = [
        ("/invocations", {"inputs": [3]}, container_shape),
        ("/v1/embeddings", {"model": "m", "input": ""}, openai_shape),
        ("/embed", {"inputs": []}, tei_shape),
        (
            "/v2/models/model/infer",
            {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": [text]}]},
            kserve_shape,
        ),
    ]
    jobs = [(path, body, True, read) for path, body, read in good] * 4 + [
        (path, body, False, read) for path, body, read in bad
    ] * 4

    def send(job):
        path, body, is_good, read = job
        response = requests.post(f"{stack.url}{path}", json=body, headers=AUTH, timeout=60)
        return response, is_good, read

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, jobs))
    vectors = []
    for response, is_good, read in answers:
        if is_good:
            assert response.status_code == 200, response.text
            vectors.append(np.asarray(read(response.json()), dtype=np.float32))
        else:
            assert response.status_code == 400, response.text
            code, message, request_id = read(response.json())
            assert code in ("bad_request", "empty_input") and message and request_id == response.headers["X-Request-Id"]
    assert len(vectors) == 16
    for vector in vectors[1:]:
        assert np.allclose(vector, vectors[0], atol=1e-5)
    assert {process.pid for process in stack.forked_workers()} == workers
