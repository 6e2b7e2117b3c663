"""load/locustfile.py's user, one task at a time: what it sends, and what it reports to locust's request event."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

# Importing locust gevent-patches the whole process (sockets, threads, subprocess) unless told not to, and the rest
# of the suite runs in this process too. The variable is put back at once so that a locust the tests start
# (tests/integration/test_load.py) patches its own process as it must.
_saved = os.environ.get("LOCUST_SKIP_MONKEY_PATCH")
os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
try:
    from locust.argument_parser import get_parser
    from locust.env import Environment

    from load import locustfile
finally:
    if _saved is None:
        del os.environ["LOCUST_SKIP_MONKEY_PATCH"]
    else:
        os.environ["LOCUST_SKIP_MONKEY_PATCH"] = _saved

QA = locustfile.PAYLOADS["qa"][0]
QA_BODY = json.dumps(QA).encode()
ANSWER = b'{"answer": "8080", "score": 0.9, "start": 31, "end": 35}'


def make_user(host: str | None, *args: str) -> tuple[locustfile.InvokeUser, list[dict]]:
    """A user as locust would start it with these command-line options, and the request events it fires."""
    options = get_parser(default_config_files=[]).parse_args(["-f", "load/locustfile.py", *args])
    environment = Environment(user_classes=[locustfile.InvokeUser], host=host, parsed_options=options)
    fired: list[dict] = []
    environment.events.request.add_listener(lambda **event: fired.append(event))
    user = locustfile.InvokeUser(environment)
    user.host = host  # locust's runner sets it on the class from --host
    user.on_start()
    return user, fired


def streaming(body: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(body), len(body))


@pytest.fixture
def runtime(monkeypatch) -> Iterator[Stubber]:
    """A real sagemaker-runtime client whose calls never leave the process."""
    for name in ("ENDPOINT_NAME", "TARGET_MODEL", "PAYLOAD", "ACCEPT_STATUS", "SERVE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client(
        "sagemaker-runtime", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    monkeypatch.setattr(locustfile, "sagemaker_client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expected_call(**extra: object) -> dict:
    return {
        "EndpointName": "my-endpoint",
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": QA_BODY,
        **extra,
    }


def test_sagemaker_host_invokes_the_endpoint_and_reports_a_success(runtime):
    runtime.add_response(
        "invoke_endpoint", {"Body": streaming(ANSWER), "ContentType": "application/json"}, expected_call()
    )
    user, fired = make_user("sagemaker://my-endpoint")
    user.invoke()
    assert len(fired) == 1
    event = fired[0]
    assert event["request_type"] == "invoke_endpoint"
    assert event["name"] == "my-endpoint"
    assert event["exception"] is None
    assert event["response_length"] == len(ANSWER)
    assert event["response_time"] >= 0


def test_target_model_is_sent_and_names_the_stats_row(runtime, monkeypatch):
    monkeypatch.setenv("TARGET_MODEL", "qa.tar.gz")
    runtime.add_response("invoke_endpoint", {"Body": streaming(ANSWER)}, expected_call(TargetModel="qa.tar.gz"))
    user, fired = make_user("sagemaker://my-endpoint")
    user.invoke()
    assert fired[0]["name"] == "my-endpoint/qa.tar.gz"
    assert fired[0]["exception"] is None


def test_endpoint_name_from_the_environment_without_a_host(runtime, monkeypatch):
    monkeypatch.setenv("ENDPOINT_NAME", "my-endpoint")
    runtime.add_response("invoke_endpoint", {"Body": streaming(ANSWER)}, expected_call())
    user, fired = make_user(None)
    user.invoke()
    assert fired[0]["exception"] is None


def test_the_containers_error_is_a_failure_named_by_its_status_and_code(runtime):
    message = json.dumps({"error": {"code": "not_ready", "message": "the model is not ready", "request_id": "ab12"}})
    for _ in range(2):
        runtime.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            http_status_code=424,
            service_message=f"Received server error (503) with message {message}",
            modeled_fields={"OriginalStatusCode": 503, "OriginalMessage": message},
            expected_params=expected_call(),
        )
    user, fired = make_user("sagemaker://my-endpoint")
    user.invoke()
    user.invoke()
    assert len(fired) == 2
    # Without the request id: both calls fall in one row of locust_failures.csv.
    assert [str(event["exception"]) for event in fired] == ["503 not_ready: the model is not ready"] * 2
    assert fired[0]["response_length"] == 0


def test_accepted_codes_count_as_successes(runtime):
    runtime.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 503, "OriginalMessage": "{}"},
        expected_params=expected_call(),
    )
    runtime.add_client_error(
        "invoke_endpoint",
        service_error_code="ThrottlingException",
        http_status_code=400,
        service_message="Rate exceeded",
        expected_params=expected_call(),
    )
    user, fired = make_user("sagemaker://my-endpoint", "--accept-status", "503")
    user.invoke()
    user.invoke()
    assert fired[0]["exception"] is None  # the container's 503, accepted
    assert str(fired[1]["exception"]) == "400 ThrottlingException: Rate exceeded"  # SageMaker's own refusal


def test_the_client_never_retries(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = locustfile.sagemaker_client()
    assert client.meta.service_model.service_name == "sagemaker-runtime"
    assert client.meta.config.retries["total_max_attempts"] == 1


def test_payloads_by_name_and_from_a_file(tmp_path):
    assert locustfile.load_bodies("qa") == [QA_BODY]
    bodies = [{"inputs": "one"}, {"inputs": ["two", "three"]}]
    path = tmp_path / "bodies.json"
    path.write_text(json.dumps(bodies))
    assert [json.loads(body) for body in locustfile.load_bodies(str(path))] == bodies
    path.write_text('{"inputs": "not a list"}')
    with pytest.raises(ValueError, match="list of request bodies"):
        locustfile.load_bodies(str(path))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = 200
        self.seen: list[tuple[str, dict, bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.seen.append((self.path, dict(self.headers), body))
        error = {"code": "busy", "message": "try again", "request_id": str(len(server.seen))}
        answer = ANSWER if server.status == 200 else json.dumps({"error": error}).encode()
        self.send_response(server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch) -> Iterator[_Server]:
    for name in ("ENDPOINT_NAME", "TARGET_MODEL", "PAYLOAD", "ACCEPT_STATUS", "SERVE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    running = _Server()
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()


def test_http_posts_json_to_invocations_and_non_2xx_fails(server):
    user, fired = make_user(f"http://127.0.0.1:{server.server_port}", "--api-key", "k" * 16)
    user.invoke()
    server.status = 429
    user.invoke()
    user.invoke()
    path, headers, body = server.seen[0]
    assert (path, headers["Content-Type"], headers["X-Api-Key"], body) == (
        "/invocations",
        "application/json",
        "k" * 16,
        QA_BODY,
    )
    assert [(event["request_type"], event["name"]) for event in fired] == [("POST", "/invocations")] * 3
    assert fired[0]["exception"] is None
    assert fired[0]["response_length"] == len(ANSWER)
    assert {str(event["exception"]) for event in fired[1:]} == {"429 busy: try again"}


def test_http_model_and_accepted_codes_and_payload(server, monkeypatch):
    monkeypatch.setenv("ACCEPT_STATUS", "429, 503")
    server.status = 429
    user, fired = make_user(f"http://127.0.0.1:{server.server_port}", "--model", "emotion", "--payload", "sentiment")
    user.invoke()
    path, _, body = server.seen[0]
    assert (path, json.loads(body)) == ("/models/emotion/invoke", locustfile.PAYLOADS["sentiment"][0])
    assert fired[0]["name"] == "/models/emotion/invoke"
    assert fired[0]["exception"] is None


def test_importing_the_locustfile_left_this_process_unpatched():
    from gevent import monkey

    assert not monkey.is_module_patched("socket")
    assert not monkey.is_module_patched("threading")
    assert "LOCUST_SKIP_MONKEY_PATCH" not in os.environ
