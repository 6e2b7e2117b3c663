"""docs/openapi.yaml against the real stack (schemathesis): the container's own routes on the tiny QA model, the
protocols' routes (-k protocol) on the real all-MiniLM-L6-v2 (TEI's /rerank and /info also on a tiny reranker), the
model management API on a multi-model endpoint; and hostile HTTP that only a raw socket sends.

The stack runs with a 2 s client timeout so that a body shorter than its Content-Length is cut off quickly.
Every test also checks that the server log gained no traceback: client errors are logged as one line.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hf_serving.api_docs import spec
from hf_serving.tasks.base import ModelFacts, Task
from hf_serving.tasks.registry import TASKS, parameter_schemas, read_model_facts
from hf_serving.tools.demo_reranker import build_reranker
from tests.support.outcomes import demo_dir
from tests.support.paths import minilm
from tests.support.stack import ROOT, TINY_QA, Stack

pytestmark = pytest.mark.integration

OPENAPI = ROOT / "docs" / "openapi.yaml"
CLIENT_TIMEOUT_S = 2
MAX_BODY = 6 * 1024 * 1024  # SAGEMAKER_MAX_PAYLOAD_IN_MB's default, in bytes as nginx counts them
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def valid_data_is_not_a_400(ctx, response, case):
    """schemathesis' positive_data_acceptance: a request valid under the description is answered 2xx (or 401, 404,
    409, 429, 5xx: its default list), never a 400: a 400 there is the description promising more than the server
    accepts. Skipped for the operations that document no success at all (GET /invocations: always a 405)."""
    if not any(str(status).startswith("2") for status in case.operation.definition.raw.get("responses", {})):
        return None
    return positive_data_acceptance(ctx, response, case)


CHECKS_VALID_ACCEPTED = [*CHECKS, valid_data_is_not_a_400]


def valid_data_is_not_a_400_on_the_embeddings_model(ctx, response, case):
    """The same on the protocol routes, but for what no schema can say (the description says it in words):
    - token ids that are all special tokens ([CLS], [PAD]...) leave no text to embed (a 400 saying so): which ids
      are special is the tokenizer's;
    - KServe v2's binary extension (application/octet-stream): a JSON part, then length-prefixed bytes, which a
      schema's `format: binary` cannot shape (tests/unit/protocols/test_kserve.py and tritonclient, in
      tests/protocols, send it)."""
    if case.media_type == "application/octet-stream":
        return None
    if response.status_code == 400 and "holds only special tokens" in response.text:
        return None
    return valid_data_is_not_a_400(ctx, response, case)


@schemathesis.serializer("application/jsonlines")
def _jsonlines_as_text(ctx, value):
    """The description says a JSON Lines body is a string: send it as UTF-8 text."""
    return value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode("utf-8")


def examples(count: int) -> settings:
    """Hypothesis' settings of a contract test: the same `count` examples every run (derandomized: a new
    counter-example shows up in a change, not in an unrelated run), and no deadline (a stack answers in its time)."""
    return settings(
        derandomize=True,
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def call_quietly(case, stack: Stack, checks=CHECKS_VALID_ACCEPTED) -> None:
    """The case sent to the stack and its answer checked; the server log gains no traceback or exception meanwhile."""
    before = len(stack.log())
    case.call_and_validate(base_url=stack.url, checks=checks, timeout=60)
    added = stack.log()[before:]
    assert "Traceback" not in added and "Exception" not in added, added[-4000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("contract-stack")
    yield from Stack(TINY_QA, tmp / "serve.log", SERVE_CLIENT_TIMEOUT_S=str(CLIENT_TIMEOUT_S)).serving()


@pytest.fixture
def quiet_log(stack) -> Iterator[None]:
    """Fails the test if the server log gains a Python or Java traceback while it runs."""
    before = len(stack.log())
    yield
    added = stack.log()[before:]
    assert "Traceback" not in added, added[-4000:]
    assert "\tat " not in added and "Exception" not in added, added[-4000:]


def served(task: str | None, model_dir: Path | None = None) -> schemathesis.schemas.BaseSchema:
    """The description a container serving `task` (None: a multi-model endpoint) from `model_dir` serves at
    /openapi.json, made as its launcher makes it (api_docs/spec.py): each task's parameters as their declarations
    accept them, which docs/openapi.yaml leaves to the code, and what the model's files say (its prompts, vocabulary
    and width). One test per operation. (Eager, with the stack's URL given per call: schemathesis' lazy from_fixture
    loader reads a pytest-internal attribute that pytest 9 no longer has.)"""
    facts = read_model_facts(TASKS[Task(task)], model_dir) if task and model_dir else ModelFacts()
    document = spec.tailored(
        spec.load(OPENAPI),
        task,
        api_key=False,
        schemas=parameter_schemas(),
        prompt_names=facts.prompt_names,
        vocabulary=facts.vocabulary,
        width=facts.width,
        labels=facts.labels,
    )
    if task == "question-answering":
        schemas = document["components"]["schemas"]
        for name in WINDOW_PARAMETERS:
            del schemas["QAParameters"]["properties"][name]
    if task == "token-classification":
        # stride is below the model's maximum length less its special tokens, which its loaded tokenizer says.
        document["components"]["schemas"]["TokenClassificationParameters"]["properties"]["stride"]["maximum"] = 64
    if task in CSV_ROWS:
        csv = document["components"]["requestBodies"]["Invocation"]["content"]["text/csv"]["schema"]
        csv["pattern"] = f"^({CSV_ROWS[task]}\\n)*{CSV_ROWS[task]}\\n?$"
    return schemathesis.openapi.from_dict(document)


# What the served model takes of what the description allows in a CSV body ("question,context" for question
# answering, one text for text and token classification, as the description says in words): rows of the task's columns.
FIELD = "[A-Za-z0-9][A-Za-z0-9 ?.]*"
# And QA's window: max_seq_len and doc_stride bound each other, the model's maximum and the question's length
# bound them (as their descriptions say in words, which a JSON schema cannot), so the generated requests leave them
# to their defaults; tests/unit/tasks/question_answering/test_answerer.py checks their refusals.
WINDOW_PARAMETERS = ("max_seq_len", "doc_stride")
CSV_ROWS = {"question-answering": f"{FIELD},{FIELD}", "text-classification": FIELD, "token-classification": FIELD}


contract = served("question-answering", TINY_QA)


# The protocols' routes (OpenAI's, TEI's, the Inference API's, KServe's) are run against an embeddings model below:
# the QA model answers most of them with a 400 or a 424 for its task, which would leave their answers unchecked.
PROTOCOL_TAGS = ["openai", "tei", "hf-inference", "kserve-v1", "kserve-v2"]


@contract.exclude(tag="multi-model").exclude(tag=PROTOCOL_TAGS).parametrize()
# quiet_log checks the log once, after all of an operation's examples: meant to span them.
@examples(30)
def test_the_stack_answers_as_its_openapi_description_says(case, stack, quiet_log):
    case.call_and_validate(base_url=stack.url, checks=CHECKS_VALID_ACCEPTED, timeout=30)


@pytest.fixture(scope="module")
def embeddings_stack(tmp_path_factory):
    """The real all-MiniLM-L6-v2 (sentence embeddings): every protocol route but TEI's /rerank answers it; /rerank
    answers TEI's error for a model that is not a reranker, as the description says."""
    tmp = tmp_path_factory.mktemp("contract-protocols")
    yield from Stack(minilm(), tmp / "serve.log", SERVE_CLIENT_TIMEOUT_S=str(CLIENT_TIMEOUT_S)).serving()


def _max_items(node: object) -> set[int]:
    """Every maxItems of the description over CUT_TO."""
    if isinstance(node, dict):
        found = {node["maxItems"]} if isinstance(node.get("maxItems"), int) and node["maxItems"] > CUT_TO else set()
        return found.union(*(_max_items(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_max_items(value) for value in node))
    return set()


# A list at one of the description's maximums (2,048 inputs for OpenAI, 1,000 for TEI) takes the model ~25 s on two
# cores: it is sent cut to CUT_TO items (a list over the maximum is sent whole: it is refused before the model).
CUT_TO = 64
AT_MAXIMUM = _max_items(yaml.safe_load(OPENAPI.read_text(encoding="utf-8")))


def _cut_at_maximum(value: object) -> object:
    if isinstance(value, list):
        return [_cut_at_maximum(item) for item in (value[:CUT_TO] if len(value) in AT_MAXIMUM else value)]
    if isinstance(value, dict):
        return {key: _cut_at_maximum(item) for key, item in value.items()}
    return value


def _flat(data: object) -> list[object]:
    return [leaf for item in data for leaf in _flat(item)] if isinstance(data, list) else [data]


def _shaped_as_their_data(body: dict) -> dict:
    """KServe v2's tensors with the shape [their elements]: a shape holds as many elements as the data (the
    description says so in words; a product of one field equal to the length of another is no schema's)."""
    inputs = body.get("inputs")
    if isinstance(inputs, list):
        for tensor in inputs:
            if isinstance(tensor, dict) and isinstance(tensor.get("data"), list):
                tensor["shape"] = [len(_flat(tensor["data"]))]
    return body


@served("sentence-embeddings", minilm()).include(tag=PROTOCOL_TAGS).parametrize()
@examples(15)
def test_the_protocol_routes_answer_as_the_description_says(case, embeddings_stack):
    if isinstance(case.body, (dict, list)):
        case.body = _cut_at_maximum(case.body)
    if case.operation.definition.raw.get("operationId") == "kserveV2Infer" and isinstance(case.body, dict):
        case.body = _shaped_as_their_data(case.body)
    call_quietly(case, embeddings_stack, [*CHECKS, valid_data_is_not_a_400_on_the_embeddings_model])


@pytest.fixture(scope="module")
def reranker_stack(tmp_path_factory):
    """A tiny cross-encoder (random weights): TEI's /rerank answers it, and /info says it is a reranker."""
    tmp = tmp_path_factory.mktemp("contract-reranker")
    model_dir = build_reranker(tmp / "cross-encoder", size="tiny", seed=11)
    yield from Stack(model_dir, tmp / "serve.log", SERVE_CLIENT_TIMEOUT_S=str(CLIENT_TIMEOUT_S)).serving()


@served("text-ranking").include(operation_id=["teiRerank", "teiInfo"]).parametrize()
@examples(15)
def test_the_protocol_routes_of_a_reranker_answer_as_the_description_says(case, reranker_stack):
    if isinstance(case.body, (dict, list)):
        case.body = _cut_at_maximum(case.body)
    call_quietly(case, reranker_stack)


SENTIMENT = ROOT / "build" / "demo-sentiment-trained"  # make demo-models


@pytest.fixture(scope="module")
def classification_stack(tmp_path_factory):
    """The demo sentiment model trained here (text classification), for its task's shapes on /invocations and on
    the protocol routes that take them."""
    tmp = tmp_path_factory.mktemp("contract-classification")
    model_dir = demo_dir(SENTIMENT.name)
    yield from Stack(model_dir, tmp / "serve.log", SERVE_CLIENT_TIMEOUT_S=str(CLIENT_TIMEOUT_S)).serving()


# The operations that take a text or token classification request: /invocations' shapes (and their protocol
# mappings).
CLASSIFICATION_OPERATIONS = ["invoke", "predict", "hfInference", "kserveV1Predict"]


@served("text-classification", SENTIMENT).include(operation_id=CLASSIFICATION_OPERATIONS).parametrize()
@examples(15)
def test_a_text_classification_container_answers_as_the_description_says(case, classification_stack):
    call_quietly(case, classification_stack)


def test_an_explain_request_on_a_protocol_route_is_answered_by_the_explanation_worker(classification_stack):
    """The batching workers refuse explain requests; KServe v1's and the Inference API's routes send them to the
    explanation worker as /invocations does, which serves the model under its public name (KServe's path names it)."""
    text = "A wonderful, moving film."
    kserve = requests.post(
        f"{classification_stack.url}/v1/models/model:predict",
        json={"instances": [text], "parameters": {"explain": True}},
        timeout=120,
    )
    assert kserve.status_code == 200, kserve.text
    (prediction,) = kserve.json()["predictions"]
    assert prediction["explanation"]["method"] == "integrated_gradients"
    assert prediction["explanation"]["targets"][0]["target"] == prediction["label"]
    inference_api = requests.post(
        f"{classification_stack.url}/hf-inference", json={"inputs": text, "parameters": {"explain": True}}, timeout=120
    )
    assert inference_api.status_code == 200, inference_api.text
    (labels,) = inference_api.json()
    assert labels[0]["label"] == prediction["label"] and labels[0]["explanation"]["method"] == "integrated_gradients"


NER = ROOT / "build" / "demo-ner-trained"  # make demo-models


@pytest.fixture(scope="module")
def ner_stack(tmp_path_factory):
    """The demo NER model trained here (token classification), for its task's shapes as above."""
    tmp = tmp_path_factory.mktemp("contract-ner")
    yield from Stack(demo_dir(NER.name), tmp / "serve.log", SERVE_CLIENT_TIMEOUT_S=str(CLIENT_TIMEOUT_S)).serving()


@served("token-classification", NER).include(operation_id=CLASSIFICATION_OPERATIONS).parametrize()
@examples(15)
def test_a_token_classification_container_answers_as_the_description_says(case, ner_stack):
    call_quietly(case, ner_stack)


@pytest.fixture(scope="module")
def mme_stack(tmp_path_factory):
    """A multi-model endpoint with one model loaded, for the multi-model operations."""
    tmp = tmp_path_factory.mktemp("contract-mme")
    running = Stack(
        None, tmp / "serve.log", SAGEMAKER_MULTI_MODEL="true", SERVE_CLIENT_TIMEOUT_S=str(CLIENT_TIMEOUT_S)
    ).start()
    try:
        running.wait_ready()
        loaded = requests.post(f"{running.url}/models", json={"model_name": "qa", "url": str(TINY_QA)}, timeout=120)
        assert loaded.status_code == 200, loaded.text
        yield running
    finally:
        running.kill_everything()


@served(None).include(tag="multi-model").parametrize()
@examples(30)
def test_a_multi_model_endpoint_answers_as_the_description_says(case, mme_stack):
    before = len(mme_stack.log())
    case.call_and_validate(base_url=mme_stack.url, checks=CHECKS_VALID_ACCEPTED, timeout=60)
    assert "Traceback" not in mme_stack.log()[before:]


# Raw HTTP: what a well-behaved client library will not send.


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self) -> dict:
        """The JSON error body, checked for the one shape every error has."""
        assert self.headers["content-type"].startswith("application/json"), self
        document = json.loads(self.body)
        assert set(document) == {"error"} and set(document["error"]) == {"code", "message", "request_id"}
        assert document["error"]["request_id"] == self.headers["x-request-id"]
        assert b"Traceback" not in self.body
        return document["error"]


class RawConnection:
    """A socket that parses whatever responses come back, Content-Length delimited, until it closes."""

    def __init__(self, stack: Stack, timeout: float) -> None:
        self.sock = socket.create_connection(("127.0.0.1", stack.port), timeout=timeout)
        self.buffer = b""
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self.buffer += chunk
        return True

    def response(self) -> RawResponse | None:
        """The next response, or None if the server closed the connection without one."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                break
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return RawResponse(int(status_line.split()[1]), headers, body)

    def wait_closed(self) -> bytes:
        """Everything the server still sends, until it closes the connection."""
        while self._fill():
            pass
        return self.buffer

    def close(self) -> None:
        self.sock.close()


@contextmanager
def raw_connection(stack: Stack, timeout: float = CLIENT_TIMEOUT_S + 8) -> Iterator[RawConnection]:
    connection = RawConnection(stack, timeout)
    try:
        yield connection
    finally:
        connection.close()


def post_head(content_length: int | str, content_type: str = "application/json", extra: str = "") -> bytes:
    return (
        f"POST /invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {content_length}\r\n{extra}\r\n"
    ).encode("latin-1")


QUESTION = b'{"question": "Which port?", "context": "The container listens on port 8080."}'


def test_a_content_length_shorter_than_the_body_is_two_400s_in_the_error_shape(stack, quiet_log):
    # The handler gets a truncated document; nginx reads the rest ('port 8080."}') as the next request line.
    with raw_connection(stack) as connection:
        connection.send(post_head(len(QUESTION) - 14) + QUESTION)
        first, second = connection.response(), connection.response()
        assert first is not None and second is not None
        assert (first.status, first.error()["code"]) == (400, "bad_request")
        assert "not valid JSON" in first.error()["message"]
        assert (second.status, second.error()["code"]) == (400, "bad_request")
        assert connection.wait_closed() == b""
    assert stack.invoke(data=QUESTION).status_code == 200


def test_a_content_length_longer_than_the_body_is_cut_off_after_the_client_timeout(stack, quiet_log):
    started = time.monotonic()
    with raw_connection(stack) as connection:
        connection.send(post_head(len(QUESTION) + 100) + QUESTION)
        leftover = connection.response()  # nginx waits for the rest, then closes without an answer
        elapsed = time.monotonic() - started
    assert leftover is None
    assert CLIENT_TIMEOUT_S - 0.5 <= elapsed <= CLIENT_TIMEOUT_S + 5
    assert stack.invoke(data=QUESTION).status_code == 200  # no worker was held


@pytest.mark.parametrize("content_length", ["abc", "-1", "99999999999999999999999", "5\r\nContent-Length: 7"])
def test_an_unreadable_content_length_is_a_400_in_the_error_shape(stack, quiet_log, content_length):
    with raw_connection(stack) as connection:
        connection.send(post_head(content_length) + QUESTION)
        response = connection.response()
    assert response is not None and response.status == 400
    assert response.error() == {**response.error(), "code": "bad_request", "message": "malformed HTTP request"}


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GARBAGE\r\n\r\n", 400, "bad_request"),
        (b"POST /invocations HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 400, "bad_request"),  # no Host
        (
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
            431,
            "request_header_fields_too_large",
        ),
        (
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}",
            400,
            "bad_request",
        ),
        (b"TRACE /invocations HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"),
        (b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long"),
        (b"POST /invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"),
        (b"POST /invocations HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
        (
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
            b"zz\r\nabc\r\n0\r\n\r\n",
            400,
            "bad_request",
        ),
        (b"POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405, "method_not_allowed"),
        (
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Amzn-SageMaker-Custom-Attributes: a\x01b\r\nContent-Length: 2\r\n\r\n{}",
            400,
            "bad_request",
        ),
        (
            b"POST /invocations HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\x7f\r\nContent-Length: 2\r\n\r\n{}",
            400,
            "bad_request",
        ),
    ],
    ids=[
        "request-line",
        "no-host",
        "header-too-large",
        "chunked-and-length",
        "trace",
        "uri-too-long",
        "unknown-transfer-encoding",
        "http-2-request-line",
        "malformed-chunked-body",
        "post-on-ping",
        "control-character-in-custom-attributes",
        "control-character-in-content-type",
    ],
)
def test_nginx_refuses_malformed_http_in_the_error_shape(stack, quiet_log, request_bytes, status, code):
    with raw_connection(stack) as connection:
        connection.send(request_bytes)
        response = connection.response()
    assert response is not None and response.status == status
    assert response.error()["code"] == code


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/v1/embeddings", lambda body: body["error"]["code"] == "method_not_allowed" and "type" in body["error"]),
        ("/embed", lambda body: body["code"] == "method_not_allowed" and "error_type" in body),
        (
            "/v2/models/model/infer",
            lambda body: body["code"] == "method_not_allowed" and isinstance(body["error"], str),
        ),
        ("/invocations", lambda body: body["error"]["code"] == "method_not_allowed" and "type" not in body["error"]),
    ],
)
def test_a_method_nginx_refuses_itself_is_answered_in_the_routes_protocol_shape(stack, quiet_log, path, error):
    with raw_connection(stack) as connection:
        connection.send(f"TRACE {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode("latin-1"))
        response = connection.response()
    assert response is not None and response.status == 405
    assert error(json.loads(response.body)), response.body


def test_a_control_character_in_a_header_the_handler_never_sees_is_dropped_not_refused(stack, quiet_log):
    with raw_connection(stack) as connection:
        connection.send(post_head(len(QUESTION), extra="X-Something: a\x01b\r\n") + QUESTION)
        response = connection.response()
    assert response is not None and response.status == 200 and "answer" in json.loads(response.body)


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_a_413(stack, quiet_log):
    def body_of(size: int) -> bytes:
        start, end = b'{"question": "q", "context": "c", "padding": "', b'"}'
        return start + b"a" * (size - len(start) - len(end)) + end

    at_limit = stack.invoke(data=body_of(MAX_BODY))
    assert at_limit.status_code == 400 and "unknown field(s) padding" in at_limit.json()["error"]["message"]
    over = stack.invoke(data=body_of(MAX_BODY + 1))
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "payload_too_large"
    assert over.json()["error"]["request_id"] == over.headers["X-Request-Id"]


@pytest.mark.parametrize("how", ["declared Content-Length, no body sent", "chunked"])
def test_a_body_over_6_mb_is_a_413_before_it_is_read(stack, quiet_log, how):
    with raw_connection(stack) as connection:
        if how == "chunked":
            chunk = b"a" * 1024 * 1024
            connection.send(
                b"POST /invocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            try:
                for _ in range(7):
                    connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                pass  # nginx answered and stopped reading: the answer is still there to read
        else:
            connection.send(post_head(7 * 1024 * 1024))
        response = connection.response()
    assert response is not None and response.status == 413
    error = response.error()
    assert (error["code"], error["message"]) == ("payload_too_large", "the body is over 6 MB")


@pytest.mark.parametrize("content_type", ["application/json", "application/jsonlines", "text/csv"])
@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b'{"question": "caf\xc3", "context": "c"}',
        b"\xc0\xaf",
        b'{"question": "\xed\xa0\x80", "context": "c"}',
    ],
    ids=["bom-bytes", "truncated", "overlong", "encoded-surrogate"],
)
def test_invalid_utf8_is_a_400_through_the_stack(stack, quiet_log, content_type, body):
    response = stack.invoke(data=body, content_type=content_type)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request" and "not valid UTF-8" in error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        (
            b'{"question": "q", "context": "c", "parameters": {"top_k": 1' + b"0" * 5000 + b"}}",
            "holds an integer of more than 4300 digits",
        ),
        (b'{"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": 1e999}}', "out of range"),
        (b'{"question": "q", "context": "c", "x": Infinity}', "Infinity is not a JSON number"),
        (b'{"question": "q\x00", "context": "c"}', "Invalid control character"),
        (b'{"question": "\\ud800", "context": "c"}', "lone UTF-16 surrogate"),
        (b'{"question": "a", "context": "c", "question": "b"}', "appears twice"),
    ],
)
def test_hostile_json_is_a_400_through_the_stack(stack, quiet_log, body, fragment):
    response = stack.invoke(data=body)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]
    assert "sys." not in response.json()["error"]["message"]  # nothing of the interpreter's own advice


def test_the_stack_still_answers_after_the_hostile_requests(stack, quiet_log):
    assert stack.ping().json() == {"status": "ready"}
    response = stack.invoke(data=QUESTION)
    assert response.status_code == 200 and set(response.json()) == {"answer", "score", "start", "end"}
    assert requests.get(f"{stack.url}/execution-parameters", timeout=5).status_code == 200
