"""API key, per-client rate limit, slow clients, and secrets that never reach a log or a response."""

from __future__ import annotations

import asyncio
import http.client
import json
import resource
import socket
import time

import pytest
import requests

from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

API_KEY = "k3y-for-tests_0123456789"
HUB_TOKEN = "hf_never_print_this_token_42"
GOOD = {"question": "Which port?", "context": "The container listens on port 8080."}
# One client address holding more slow uploads than nginx once had connections (1,024), against the defaults:
# SERVE_MAX_CONNECTIONS_PER_ADDRESS=512, and the fixture's SERVE_REQUEST_READ_TIMEOUT_S=15.
SLOW_UPLOADS = 1100
PER_ADDRESS = 512
READ_TIMEOUT_S = 15


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security")
    yield from Stack(
        model_dir_with_code(tmp),
        tmp / "serve.log",
        SERVE_API_KEY=API_KEY,
        HF_TOKEN=HUB_TOKEN,
        SERVE_CLIENT_TIMEOUT_S="2",
        SERVE_REQUEST_READ_TIMEOUT_S="15",
    ).serving()


def test_ping_needs_no_key_so_health_probes_work(stack):
    assert stack.ping().json() == {"status": "ready"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Api-Key": "wrong-key-0123456789"}, {"Authorization": f"Basic {API_KEY}"}, {"X-Api-Key": API_KEY + "x"}],
)
def test_invocations_without_the_right_key_are_401_json(stack, headers):
    response = requests.post(f"{stack.url}/invocations", json=GOOD, headers=headers, timeout=10)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and error["request_id"] == response.headers["X-Request-Id"]
    assert requests.get(f"{stack.url}/execution-parameters", headers=headers, timeout=10).status_code == 401


@pytest.mark.parametrize("headers", [{"X-Api-Key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}])
def test_the_key_in_either_header_is_accepted(stack, headers):
    response = requests.post(f"{stack.url}/invocations", json=GOOD, headers=headers, timeout=10)
    assert response.status_code == 200
    answer = response.json()
    assert GOOD["context"][answer["start"] : answer["end"]] == answer["answer"]


@pytest.mark.parametrize(
    "headers",
    [{"X-Api-Key": API_KEY.upper()}, {"X-Api-Key": API_KEY.swapcase()}, {"Authorization": f"Bearer {API_KEY.upper()}"}],
)
def test_the_key_in_another_case_is_401(stack, headers):
    # nginx's map compared the key without case: any of these was accepted.
    for response in (
        requests.post(f"{stack.url}/invocations", json=GOOD, headers=headers, timeout=10),
        requests.get(f"{stack.url}/execution-parameters", headers=headers, timeout=10),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    # The scheme's case is free (RFC 9110); the key's is not.
    assert (
        requests.post(
            f"{stack.url}/invocations", json=GOOD, headers={"Authorization": f"bearer {API_KEY}"}, timeout=10
        ).status_code
        == 200
    )


def test_internal_locations_are_json_404s_from_outside(stack):
    for path in ("/.metrics/workers", "/.errors/bad-request", "/.errors/client-timeout", "/.docs/page/index.html"):
        response = requests.get(f"{stack.url}{path}", timeout=10)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"].startswith("application/json"), path
        error = response.json()["error"]
        assert error["code"] == "not_found" and error["request_id"] == response.headers["X-Request-Id"], path


def test_a_key_in_the_query_string_never_reaches_the_access_log(stack):
    for path in (f"/invocations?api_key={API_KEY}", f"/nowhere?api_key={API_KEY}"):
        response = requests.post(f"{stack.url}{path}", json=GOOD, headers={"X-Api-Key": API_KEY}, timeout=10)
        assert response.status_code in (200, 404)
        request_id = response.headers["X-Request-Id"]
        deadline = time.monotonic() + 30  # the access log is flushed every second
        while request_id not in stack.log():
            assert time.monotonic() < deadline, "the request's access line never came"
            time.sleep(0.2)
    log = stack.log()
    assert "/invocations" in log and API_KEY not in log


def test_a_client_over_its_rate_gets_429_json(tmp_path):
    limited = Stack(
        model_dir_with_code(tmp_path), tmp_path / "serve.log", SERVE_RATE_LIMIT_RPS="1", SERVE_RATE_LIMIT_BURST="2"
    ).start()
    try:
        limited.wait_ready()
        statuses = [limited.invoke(GOOD) for _ in range(8)]
        time.sleep(2.5)  # the bucket refills
        after = limited.invoke(GOOD)
    finally:
        limited.kill_everything()
    codes = [r.status_code for r in statuses]
    assert codes[:3] == [200, 200, 200]  # one a second, plus a burst of two
    assert 429 in codes
    rejected = next(r for r in statuses if r.status_code == 429)
    assert rejected.json()["error"]["code"] == "rate_limited"
    assert "rate limit: 1 req/s per client" in limited.log()
    assert after.status_code == 200


def test_the_management_api_and_model_server_routes_are_not_exposed(stack):
    for path in ("/models", "/models/model", "/predictions/model", "/api-description"):
        response = requests.get(f"{stack.url}{path}", headers={"X-Api-Key": API_KEY}, timeout=10)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    # /metrics is the container's own (docs/operating/observability.md), not multi-model-server's, and asks no key
    # by default.
    response = requests.get(f"{stack.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert "hf_serving_requests_total" in response.text and "ts_inference" not in response.text


def test_a_slow_client_ties_up_no_worker_and_is_cut_off(stack):
    trickler = socket.create_connection(("127.0.0.1", stack.port), timeout=30)
    trickler.sendall(
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Api-Key: " + API_KEY.encode() + b'\r\nContent-Length: 1000\r\n\r\n{"question":'
    )
    started = time.monotonic()
    # Meanwhile the model answers others at once: nothing reached a worker yet.
    response = requests.post(f"{stack.url}/invocations", json=GOOD, headers={"X-Api-Key": API_KEY}, timeout=10)
    assert response.status_code == 200
    assert time.monotonic() - started < 1.5
    reply = b""
    while chunk := trickler.recv(4096):  # nginx gives up on the body after SERVE_CLIENT_TIMEOUT_S
        reply += chunk
    assert 1.5 < time.monotonic() - started < 10
    assert reply == b"" or reply.startswith(b"HTTP/1.1 408")
    trickler.close()


def test_secrets_never_reach_the_log_or_a_response(stack):
    response = requests.post(f"{stack.url}/invocations", json=GOOD, headers={"X-Api-Key": API_KEY}, timeout=10)
    assert HUB_TOKEN not in response.text and API_KEY not in response.text
    log = stack.log()
    assert "API key: required" in log
    assert HUB_TOKEN not in log and API_KEY not in log


async def _slow_upload(port: int, opened: list[int]) -> tuple[bytes, float, float]:
    """A body of 100 kB sent a byte a second, from 127.0.0.1: each byte restarts nginx's client_body_timeout (2 s
    here). Returns what nginx answered (b"" when it closed the connection), when (the loop's clock), and how long after
    the request's first byte."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = loop.time()
    writer.write(
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Api-Key: "
        + API_KEY.encode()
        + b"\r\nContent-Length: 100000\r\n\r\n{"
    )
    opened.append(1)
    try:
        while True:
            try:
                reply = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                return reply, loop.time(), loop.time() - started
            except TimeoutError:
                writer.write(b" ")
                await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        return b"", loop.time(), loop.time() - started
    finally:
        writer.close()


def _served_from_another_address(port: int) -> list[tuple[int, bytes]]:
    """/ping and an invocation from 127.0.0.2 (the loopback is a /8: nginx sees another client address)."""
    answers = []
    for method, path, body in (("GET", "/ping", None), ("POST", "/invocations", json.dumps(GOOD))):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=("127.0.0.2", 0))
        try:
            connection.request(
                method, path, body=body, headers={"X-Api-Key": API_KEY, "Content-Type": "application/json"}
            )
            response = connection.getresponse()
            answers.append((response.status, response.read()))
        finally:
            connection.close()
    return answers


async def _flood_then_probe(port: int) -> tuple[list[tuple[bytes, float, float]], list[tuple[int, bytes]], float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    opened: list[int] = []
    uploads = [asyncio.ensure_future(_slow_upload(port, opened)) for _ in range(SLOW_UPLOADS)]
    # Every upload open, and nginx's refusals of those over the address's limit back.
    deadline = started + 60
    while len(opened) < SLOW_UPLOADS or sum(task.done() for task in uploads) < SLOW_UPLOADS - PER_ADDRESS:
        assert loop.time() < deadline, f"{len(opened)} opened, {sum(t.done() for t in uploads)} answered"
        await asyncio.sleep(0.1)
    answers = await asyncio.to_thread(_served_from_another_address, port)
    probed_at = loop.time()
    return await asyncio.gather(*uploads), answers, probed_at


def test_one_address_holding_1100_slow_uploads_leaves_other_clients_served(stack):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < SLOW_UPLOADS + 256:  # one socket a slow upload, in this process
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, SLOW_UPLOADS + 1024), hard))
    uploads, answers, probed_at = asyncio.run(_flood_then_probe(stack.port))
    (ping_status, ping_body), (invoked_status, invoked_body) = answers
    assert (ping_status, json.loads(ping_body)) == (200, {"status": "ready"})
    assert invoked_status == 200, invoked_body
    answer = json.loads(invoked_body)
    assert GOOD["context"][answer["start"] : answer["end"]] == answer["answer"]
    # The address's first 512 were held, the others refused at once in JSON.
    refused = [reply for reply, _, _ in uploads if reply.startswith(b"HTTP/1.1 429")]
    assert len(refused) == SLOW_UPLOADS - PER_ADDRESS
    assert all(b'"code":"too_many_connections"' in reply for reply in refused)
    # Those held were still open when the other client was served, and cut off at the total read time although a
    # byte came every second (nginx closes the connection, as at client_body_timeout).
    held = [upload for upload in uploads if not upload[0].startswith(b"HTTP/1.1 429")]
    assert len(held) == PER_ADDRESS
    assert all(reply == b"" or reply.startswith(b"HTTP/1.1 408") for reply, _, _ in held)
    assert min(closed_at for _, closed_at, _ in held) > probed_at
    assert all(READ_TIMEOUT_S - 1 < lasted < READ_TIMEOUT_S + 30 for _, _, lasted in held)
