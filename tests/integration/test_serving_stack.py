"""The whole stack with the default hooks: the SageMaker contract, answers, and every error status."""

from __future__ import annotations

import concurrent.futures
import ipaddress
import json
import re

import psutil
import pytest

from tests.support.answers import same_answer
from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

CONTEXT = "The container listens on port 8080. Requests go to /invocations as JSON."
SAFE_RANGE = (21000, 21999)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("default-stack")
    # A requirements.txt without the opt-in must be skipped (and must not be installed: it cannot be).
    model_dir = model_dir_with_code(tmp, requirements="this-package-does-not-exist==0.0.1\n")
    yield from Stack(
        model_dir, tmp / "serve.log", SAGEMAKER_SAFE_PORT_RANGE=f"{SAFE_RANGE[0]}-{SAFE_RANGE[1]}"
    ).serving()


def assert_answer(answer: dict, context: str) -> None:
    assert set(answer) == {"answer", "score", "start", "end"}
    assert 0 <= answer["start"] < answer["end"] <= len(context)
    assert context[answer["start"] : answer["end"]] == answer["answer"]
    assert 0.0 < answer["score"] <= 1.0


def assert_error(response, status: int, code: str, fragment: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert fragment in error["message"], error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert "Traceback" not in response.text
    return error


def test_ping_is_ready_with_a_json_body(stack):
    response = stack.ping()
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_answers_both_request_shapes_identically(stack):
    bare = stack.invoke({"question": "Which port?", "context": CONTEXT})
    envelope = stack.invoke({"inputs": {"question": "Which port?", "context": CONTEXT}})
    assert bare.status_code == envelope.status_code == 200
    assert bare.headers["Content-Type"].startswith("application/json")
    assert_answer(bare.json(), CONTEXT)
    assert bare.json() == envelope.json()


def test_a_list_of_inputs_returns_a_list_of_answers_in_order(stack):
    items = [
        {"question": "Which port?", "context": CONTEXT},
        {"question": "Where do requests go?", "context": "Requests go to the invocations route."},
        {"question": "What format?", "context": "Everything is sent as JSON over HTTP."},
    ]
    one_by_one = [stack.invoke(item).json() for item in items]
    for body in (items, {"inputs": items}):
        response = stack.invoke(body)
        assert response.status_code == 200
        answers = response.json()
        # Scores to rel 1e-5: a padded batch differs from single rows in the last bits on some CPUs (AMX).
        assert [{k: v for k, v in a.items() if k != "score"} for a in answers] == [
            {k: v for k, v in a.items() if k != "score"} for a in one_by_one
        ]
        assert [a["score"] for a in answers] == pytest.approx([a["score"] for a in one_by_one], rel=1e-5)
        for answer, item in zip(answers, items, strict=True):
            assert_answer(answer, item["context"])


def test_top_k_returns_a_list(stack):
    response = stack.invoke({"inputs": {"question": "Which port?", "context": CONTEXT}, "parameters": {"top_k": 3}})
    assert response.status_code == 200
    answers = response.json()
    assert len(answers) == 3
    for answer in answers:
        assert_answer(answer, CONTEXT)
    assert [a["score"] for a in answers] == sorted((a["score"] for a in answers), reverse=True)


@pytest.mark.parametrize(
    ("content_type", "accept"),
    [
        ("application/json; charset=utf-8", "application/json"),
        ("application/json;charset=UTF-8", "*/*"),
        ("application/json", None),
    ],
)
def test_content_type_charset_and_accept_variants(stack, content_type, accept):
    headers = {"Accept": accept} if accept else {}
    response = stack.invoke({"question": "Which port?", "context": CONTEXT}, content_type=content_type, **headers)
    assert response.status_code == 200
    assert_answer(response.json(), CONTEXT)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"question": "a", "context": ', "not valid JSON"),
        (b'{"context": "some text"}', "question is missing"),
        (b'{"question": "", "context": "some text"}', "question must not be empty"),
        (b'{"question": "q", "context": "   "}', "context must not be empty"),
        (b'{"question": 5, "context": "some text"}', "question must be a string, not number"),
        (
            b'{"inputs": [{"question": "q", "context": "c"}, {"question": "q", "context": null}]}',
            "inputs[1].context must be a string, not null",
        ),
        (b'{"inputs": []}', "inputs must not be an empty list"),
        (b'{"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": 0}}', "top_k"),
        (b'{"question": "q", "context": "c", "a": NaN}', "NaN"),
        (b"\xff\xfe", "UTF-8"),
        (b"", "empty"),
    ],
)
def test_bad_requests_are_400_naming_the_problem(stack, body, fragment):
    assert_error(stack.invoke(data=body), 400, "bad_request", fragment)


def test_unsupported_content_type_is_415(stack):
    assert_error(stack.invoke(data=b"hello", content_type="text/plain"), 415, "unsupported_media_type", "text/plain")


def test_unsupported_accept_is_406(stack):
    response = stack.invoke({"question": "q", "context": "c"}, Accept="text/html")
    assert_error(response, 406, "not_acceptable", "text/html")


def test_body_over_6_mb_is_413_from_nginx_in_the_same_shape(stack):
    huge = b'{"question": "q", "context": "' + b"a" * (6 * 1024 * 1024) + b'"}'
    assert_error(stack.invoke(data=huge), 413, "payload_too_large", "6 MB")


def test_a_large_body_under_the_limit_reaches_the_handler(stack):
    # Over nginx's in-memory buffer, so it is spooled to disk by nginx's worker user first.
    large = b'{"question": "q", "context": "c", "padding": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    assert_error(stack.invoke(data=large), 400, "bad_request", "unknown field(s) padding")


def test_unknown_route_is_404_and_wrong_method_405(stack):
    import requests

    assert_error(requests.get(f"{stack.url}/models", timeout=5), 404, "not_found", "no such route")
    assert_error(requests.get(f"{stack.url}/invocations", timeout=5), 405, "method_not_allowed", "POST")
    for path in ("/ping", "/execution-parameters"):
        assert_error(requests.put(f"{stack.url}{path}", timeout=5), 405, "method_not_allowed", "GET")
        assert_error(requests.post(f"{stack.url}{path}", json={}, timeout=5), 405, "method_not_allowed", "GET")


def test_execution_parameters(stack):
    import requests

    response = requests.get(f"{stack.url}/execution-parameters", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"MaxConcurrentTransforms": 1, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 6}


def _workers(stack) -> set[int]:
    stack.track()
    return {
        pid
        for pid, process in stack.descendants.items()
        if process.is_running() and "model_service_worker" in " ".join(process.cmdline())
    }


def test_bad_requests_never_kill_a_worker_or_disturb_others(stack):
    workers_before = _workers(stack)
    assert workers_before
    good = {"question": "Which port?", "context": CONTEXT}
    expected = stack.invoke(good).json()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [
            pool.submit(stack.invoke, good) if i % 2 else pool.submit(stack.invoke, None, b"{bad") for i in range(24)
        ]
        results = [f.result() for f in futures]
    assert [r.status_code for r in results] == [200 if i % 2 else 400 for i in range(24)]
    assert all(same_answer(r.json(), expected) for r in results[1::2])
    assert _workers(stack) == workers_before
    assert stack.ping().status_code == 200


def test_batched_answers_and_errors_each_reach_the_client_with_one_content_type_of_their_own(stack):
    """Each response of a batch carries its own Content-Type, once, and its own Server-Timing: the worker sends the
    type in its frame's field and in its header map, and the fixed decoder (launcher/java/) reads header maps split
    across socket reads, so no worker dies for it under concurrency."""
    workers_before = _workers(stack)
    good = {"question": "Which port?", "context": CONTEXT}
    kinds = [
        ("json", lambda: stack.invoke(good), 200, "application/json"),
        ("jsonlines", lambda: stack.invoke(good, Accept="application/jsonlines"), 200, "application/jsonlines"),
        ("bad", lambda: stack.invoke(None, b"{bad"), 400, "application/json; charset=utf-8"),
    ]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        futures = [(kinds[i % 3], pool.submit(kinds[i % 3][1])) for i in range(90)]
        results = [(kind, future.result()) for kind, future in futures]
    for (name, _, status, content_type), response in results:
        assert response.status_code == status, (name, response.text)
        assert response.raw.headers.getlist("Content-Type") == [content_type], name
        # The worker's stages (nginx adds the total): an answer's include its model pass.
        stages = response.headers["Server-Timing"]
        assert "total;dur=" in stages and ("inference;dur=" in stages or status != 200), (name, stages)
        if name == "jsonlines":
            [line] = response.text.splitlines()
            assert_answer(json.loads(line), CONTEXT)
    assert _workers(stack) == workers_before
    assert "CorruptedFrameException" not in stack.log() and "DecoderException" not in stack.log()


def test_internal_servers_listen_on_loopback_inside_the_safe_range(stack):
    stack.track()
    listening = []
    for process in stack.descendants.values():
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        listening += [c.laddr for c in connections if c.status == psutil.CONN_LISTEN]
    internal = {(a.ip, a.port) for a in listening if a.port != stack.port}
    assert len(internal) == 3  # MMS's inference and management APIs, nginx's inner hop
    for ip, port in internal:
        address = ipaddress.ip_address(ip)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:  # Java's way of saying it
            address = address.ipv4_mapped
        assert str(address) == "127.0.0.1"
        assert SAFE_RANGE[0] <= port <= SAFE_RANGE[1]


def test_start_up_log_prints_the_configuration_and_warnings(stack):
    log = stack.log()
    for line in (
        "model source: directory",
        "task: question-answering (from config.json architectures)",
        "workers: 1, torch threads per worker:",
        "ports: public 127.0.0.1:",
        "dtype: float32; engine: auto -> torch",  # float32 stays on torch, the exact reference
        "serving question-answering on torch",  # what the worker really loaded, from its report
        "SERVING RANDOM WEIGHTS",
        "requirements.txt skipped: set INSTALL_CODE_REQUIREMENTS=true",
    ):
        assert line in log
    assert "this-package-does-not-exist" not in log  # skipped: pip never ran
    # The worker's own line: float32 stays on torch, the pipeline-exact reference.
    assert re.search(r"loaded \S+: question-answering on torch \S+, device cpu, dtype float32", log)
