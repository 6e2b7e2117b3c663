"""Hostile input through input_fn and through the whole handler chain, with no server.

Whatever the bytes, headers or JSON values, the answer is a 200 or a documented 4xx in the one error shape
{"error": {"code", "message", "request_id"}}: never a 5xx, never a traceback in a body or in the log, never
an exception escaping to the model server. Property tests (hypothesis) search for counter-examples; the
explicit cases pin down the status and message of each hostile input docs/operating/security.md names.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hf_serving.errors import ERROR_CONTENT_TYPE, ServingError, error_body
from hf_serving.serving import default_hooks
from hf_serving.serving.batch_handler import HandlerService
from hf_serving.settings import Settings, settings_in_use
from tests.support.fakes import FakeServerContext
from tests.support.paths import TINY_QA

DOCUMENTED_4XX = {400: "bad_request", 406: "not_acceptable", 413: "payload_too_large", 415: "unsupported_media_type"}
REQUEST_ID = "hostile-1"
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/jsonlines",
    "application/x-ndjson",
    "text/csv",
    "text/plain",
    "application/json; charset=latin-1",
    "",
    None,
]
ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/jsonlines",
    "text/csv",
    "text/html",
    "application/json;q=0",
    "application/json;q=nan",
    ";;,,",
    "\x00",
]
# Model calls take milliseconds, but a loaded CI machine can stall one: no deadline, few examples.
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class _ErrorRecords(logging.Handler):
    """Every ERROR the request path logs (the handler logs a traceback only for a 5xx)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def defaults() -> ModuleType:
    return default_hooks


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    # One torch thread: a 2-core machine shared with other jobs runs a tiny model faster that way.
    current = Settings(
        model_dir=TINY_QA,
        dtype="float32",
        threads=1,
        code_dir_override=tmp_path_factory.mktemp("no-user-code") / "code",
    )
    with settings_in_use(current):
        service = HandlerService(current)
        service.initialize(FakeServerContext([]))
        yield service


@pytest.fixture(scope="module")
def classifier(service, tiny_sentiment, tmp_path_factory):
    """The same chain on a text classifier (tests/conftest.py's tiny sentiment model)."""
    current = Settings(
        model_dir=tiny_sentiment,
        dtype="float32",
        threads=1,
        code_dir_override=tmp_path_factory.mktemp("no-user-code") / "code",
    )
    with settings_in_use(current):  # model_fn reads the settings
        classifier = HandlerService(current)
        classifier.initialize(FakeServerContext([]))
    return classifier


@pytest.fixture(scope="module")
def error_records() -> _ErrorRecords:
    recorder = _ErrorRecords()
    logger = logging.getLogger("hf_serving")
    logger.addHandler(recorder)
    yield recorder
    logger.removeHandler(recorder)


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    def error(self) -> dict:
        return json.loads(self.body)["error"]


def answer(
    service: HandlerService,
    recorder: _ErrorRecords,
    body: bytes,
    content_type: str | None = "application/json",
    accept: str | None = None,
) -> Reply:
    """One request through handle_batch, as multi-model-server hands it over; checked for the contract."""
    headers = {"X-Request-Id": REQUEST_ID}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if accept is not None:
        headers["Accept"] = accept
    context = FakeServerContext([headers])
    recorder.records.clear()
    [out] = service.handle_batch([{"body": body}], context)  # nothing may escape to the model server
    reply = Reply(
        context.statuses[0][0],
        context.response_headers[0]["content-type"],
        out if isinstance(out, bytes) else out.encode("utf-8"),
    )
    assert reply.status == 200 or reply.status in DOCUMENTED_4XX, reply
    assert b"Traceback" not in reply.body
    assert not recorder.records, [record.getMessage() for record in recorder.records]
    if reply.status == 200:
        assert reply.content_type in ("application/json", "application/jsonlines", "text/csv")
    else:
        assert reply.content_type == ERROR_CONTENT_TYPE
        document = reply.json()
        assert isinstance(document, dict) and set(document) == {"error"}
        assert set(document["error"]) == {"code", "message", "request_id"}
        assert document["error"]["code"] == DOCUMENTED_4XX[reply.status]
        assert document["error"]["request_id"] == REQUEST_ID
        assert isinstance(document["error"]["message"], str) and document["error"]["message"]
    return reply


def assert_answers(answers: object, contexts: list[str]) -> None:
    """Answers in order, each a span of its own context."""
    assert isinstance(answers, list) and len(answers) == len(contexts)
    for found, context in zip(answers, contexts, strict=True):
        assert set(found) == {"answer", "score", "start", "end"}
        assert context[found["start"] : found["end"]] == found["answer"]
        assert 0.0 <= found["score"] <= 1.0


# Strategies. Text may hold any code point, control characters and lone surrogates included (json.dumps
# escapes those as \uXXXX); st.text() itself never draws a surrogate, hence lists of characters.
awkward_characters = st.sampled_from('\x00\x01\x1f\x7f\x85\u2028\ufeff \t\n\r\\"') | st.integers(0xD800, 0xDFFF).map(
    chr
)
any_text = st.lists(st.characters() | awkward_characters, max_size=40).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
JSON_PIECES = [
    "{",
    "}",
    "[",
    "]",
    '"',
    ":",
    ",",
    " ",
    "\n",
    '"question"',
    '"context"',
    '"inputs"',
    '"parameters"',
    '"top_k"',
    '"a b"',
    "\\u0000",
    "\\ud800",
    '\\"',
    "NaN",
    "-Infinity",
    "1e999",
    "1" * 30,
    "-0",
    "0.5",
    "true",
    "null",
    "\x00",
    "\x1f",
    "\u2028",
    "é",
]
json_like_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(JSON_PIECES), max_size=30).map(lambda pieces: "".join(pieces).encode("utf-8")),
)
qa_shaped = st.fixed_dictionaries(
    {"question": json_values | any_text, "context": json_values | any_text},
    optional={
        "parameters": st.dictionaries(
            st.sampled_from(
                [
                    "top_k",
                    "max_answer_len",
                    "max_seq_len",
                    "doc_stride",
                    "max_question_len",
                    "handle_impossible_answer",
                    "nope",
                ]
            ),
            json_values,
            max_size=3,
        )
    },
)
request_shaped = st.one_of(
    json_values,
    qa_shaped,
    st.fixed_dictionaries({"inputs": qa_shaped | st.lists(qa_shaped, max_size=3) | json_values}),
    st.lists(qa_shaped, max_size=3),
)


def _has(value: object, predicate) -> bool:
    if isinstance(value, dict):
        return any(_has(key, predicate) or _has(item, predicate) for key, item in value.items())
    if isinstance(value, list):
        return any(_has(item, predicate) for item in value)
    return predicate(value)


def _not_finite(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def as_json_reads(text: str) -> str:
    """The text a JSON reader gets back from json.dumps(text): a high and low surrogate side by side are
    escaped as a pair, which reads back as the one character they encode."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def _lone_surrogate(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        as_json_reads(value)
    except UnicodeDecodeError:
        return True
    return False


def _read_back(value: object) -> object:
    if isinstance(value, dict):
        return {_read_back(key): _read_back(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_read_back(item) for item in value]
    return as_json_reads(value) if isinstance(value, str) else value


# input_fn alone: the container's default decoding.


@PROPERTY
@given(body=json_like_bytes, content_type=st.sampled_from(CONTENT_TYPES))
def test_input_fn_decodes_any_bytes_or_refuses_them_with_a_4xx(defaults, body, content_type):
    try:
        defaults.input_fn(body, content_type)
    except ServingError as exc:
        assert exc.status in (400, 415), exc
        assert exc.message


@PROPERTY
@given(value=json_values)
def test_input_fn_returns_any_json_value_unchanged_or_names_why_not(defaults, value):
    body = json.dumps(value).encode("ascii")  # NaN and Infinity as such, lone surrogates as \udXXX escapes
    if _has(value, _not_finite):
        with pytest.raises(ServingError, match="is not a JSON number"):
            defaults.input_fn(body, "application/json")
    elif _has(value, _lone_surrogate):
        with pytest.raises(ServingError, match="lone UTF-16 surrogate"):
            defaults.input_fn(body, "application/json")
    else:
        assert defaults.input_fn(body, "application/json") == _read_back(value)


# The whole chain: handle_batch -> input_fn -> predict_fn (the tiny model) -> output_fn.


@PROPERTY
@given(body=json_like_bytes, content_type=st.sampled_from(CONTENT_TYPES), accept=st.sampled_from(ACCEPTS))
def test_any_bytes_with_any_headers_get_a_200_or_a_documented_4xx(service, error_records, body, content_type, accept):
    answer(service, error_records, body, content_type, accept)


@PROPERTY
@given(value=request_shaped, content_type=st.sampled_from(["application/json", "application/jsonlines"]))
def test_any_json_value_gets_a_200_or_a_documented_4xx(service, error_records, value, content_type):
    reply = answer(service, error_records, json.dumps(value).encode("ascii"), content_type)
    if (
        reply.status == 200
        and content_type == "application/json"
        and isinstance(value, dict)
        and "question" in value
        and "parameters" not in value
    ):
        assert_answers([reply.json()], [as_json_reads(value["context"])])


@PROPERTY
@given(question=any_text, context=any_text)
def test_any_question_and_context_get_an_answer_in_the_context_or_a_400_naming_the_field(
    service, error_records, question, context
):
    reply = answer(service, error_records, json.dumps({"question": question, "context": context}).encode("ascii"))
    if reply.status == 200:
        assert_answers([reply.json()], [as_json_reads(context)])
    else:
        assert reply.status == 400
        message = reply.error()["message"]
        assert any(part in message for part in ("question", "context", "surrogate")), message


@PROPERTY
@given(
    value=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"inputs": json_values | any_text | st.lists(any_text)}, optional={"parameters": json_values}
        ),
    )
)
def test_any_json_value_gets_a_200_or_a_documented_4xx_from_a_classifier(classifier, error_records, value):
    reply = answer(classifier, error_records, json.dumps(value).encode("ascii"))
    if reply.status == 200:
        results = reply.json()
        assert isinstance(results, list) and results


@PROPERTY
@given(texts=st.lists(any_text, min_size=1, max_size=4))
def test_any_texts_get_a_label_each_or_a_400_naming_the_item(classifier, error_records, texts):
    reply = answer(classifier, error_records, json.dumps({"inputs": texts}).encode("ascii"))
    if reply.status == 200:
        assert len(reply.json()) == len(texts)
        assert all(result["label"] in ("NEGATIVE", "POSITIVE") for result in reply.json())
    else:
        assert reply.error()["message"].startswith(("inputs[", "the body is not valid JSON for this endpoint"))


# The hostile inputs docs/operating/security.md names, one by one.


@pytest.mark.parametrize(
    ("body", "byte"),
    [
        (b"\xff\xfe{}", 0),
        (b'{"question": "caf\xc3", "context": "c"}', 17),  # a multi-byte sequence cut short
        (b'{"question": "\xc0\xaf", "context": "c"}', 14),  # an overlong encoding of "/"
        (b'{"question": "\xed\xa0\x80", "context": "c"}', 14),  # a surrogate encoded as UTF-8 (CESU-8)
        (b'{"question": "q", "context": "\xf4\x90\x80\x80"}', 30),  # past U+10FFFF
    ],
)
@pytest.mark.parametrize("content_type", ["application/json", "application/jsonlines", "text/csv"])
def test_invalid_utf8_is_a_400_naming_the_byte(service, error_records, body, byte, content_type):
    reply = answer(service, error_records, body, content_type)
    assert reply.status == 400
    assert reply.error()["message"] == f"the body is not valid UTF-8 (byte {byte})"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"inputs": ' + b'[{"x":' * 50_000 + b"0" + b"}]" * 50_000 + b"}",
        b"[" * 100_000,  # never closed
    ],
)
def test_nesting_100k_deep_is_a_400(service, error_records, body):
    reply = answer(service, error_records, body)
    assert reply.status == 400
    assert reply.error()["message"] in (
        "the body is nested too deeply",
        "the body is not valid JSON: Expecting value at line 1 column 100001",
    )


def test_nesting_100k_deep_in_a_json_lines_record_is_that_lines_error(service, error_records):
    good = b'{"question": "Which port?", "context": "It listens on port 8080."}'
    reply = answer(
        service, error_records, good + b"\n" + b"[" * 100_000 + b"]" * 100_000 + b"\n", "application/jsonlines"
    )
    assert reply.status == 200
    first, second = (json.loads(line) for line in reply.body.splitlines())
    assert_answers([first], ["It listens on port 8080."])
    assert second == {"error": {"code": "bad_request", "message": "line 2 is nested too deeply", "line": 2}}


@pytest.mark.parametrize(
    ("number", "fragment"),
    [
        (b"1" + b"0" * 5000, "holds an integer of more than 4300 digits"),
        (b"-" + b"9" * 5000, "holds an integer of more than 4300 digits"),
        (b"1e999", "number 1e999 is out of range"),
        (b"-1e999", "number -1e999 is out of range"),
        (b"1" + b"0" * 400 + b".0", "is out of range"),
    ],
)
@pytest.mark.parametrize("where", ["parameter", "field", "bare"])
def test_huge_numbers_are_a_400(service, error_records, number, fragment, where):
    body = {
        "parameter": b'{"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": %s}}' % number,
        "field": b'{"question": "q", "context": %s}' % number,
        "bare": number,
    }[where]
    reply = answer(service, error_records, body)
    assert reply.status == 400
    assert fragment in reply.error()["message"]
    assert "sys." not in reply.error()["message"]  # nothing of the interpreter's own advice


@pytest.mark.parametrize("value", [2**63, 2**64, 10**30, 10**4000])
def test_a_huge_max_question_len_is_answered(service, error_records, value):
    # It has no effect (questions are never truncated): any size is accepted, as by the pipeline.
    context = "The container listens on port 8080."
    body = {"inputs": {"question": "Which port?", "context": context}, "parameters": {"max_question_len": value}}
    reply = answer(service, error_records, json.dumps(body).encode())
    assert reply.status == 200
    assert_answers([reply.json()], [context])


@pytest.mark.parametrize("value", [2**63, 2**64, 10**30, 10**4000])
@pytest.mark.parametrize(("name", "bound"), [("top_k", 100), ("max_answer_len", 512)])
def test_a_huge_work_multiplying_parameter_is_a_400_naming_its_bound(service, error_records, name, bound, value):
    # top_k 20,000 held a worker for minutes; max_answer_len past 2**63 once overflowed numpy's C long (a 500).
    body = {"inputs": {"question": "Which port?", "context": "Port 8080."}, "parameters": {name: value}}
    reply = answer(service, error_records, json.dumps(body).encode())
    assert (reply.status, reply.error()["message"]) == (400, f"parameters.{name} must be an integer from 1 to {bound}")


@pytest.mark.parametrize(("name", "fragment"), [("max_seq_len", "must be <= 512"), ("doc_stride", "must be <")])
def test_a_huge_window_parameter_is_a_400_naming_its_bound(service, error_records, name, fragment):
    body = {"inputs": {"question": "q", "context": "c"}, "parameters": {name: 10**30}}
    reply = answer(service, error_records, json.dumps(body).encode())
    assert reply.status == 400
    assert reply.error()["message"].startswith(f"parameters.{name}") and fragment in reply.error()["message"]


def test_a_tiny_number_is_zero_and_refused_as_the_parameter_it_is(service, error_records):
    reply = answer(
        service, error_records, b'{"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": 1e-999}}'
    )
    assert (reply.status, reply.error()["message"]) == (400, "parameters.top_k must be an integer from 1 to 100")


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
@pytest.mark.parametrize(
    "template",
    [
        b'{"question": "q", "context": "c", "parameters": {"top_k": %s}}',
        b'{"question": %s, "context": "c"}',
        b"[%s]",
        b"%s",
    ],
)
def test_nan_and_infinity_are_a_400(service, error_records, constant, template):
    reply = answer(service, error_records, template % constant)
    assert reply.status == 400
    assert reply.error()["message"] == f"the body is not valid JSON: {constant.decode()} is not a JSON number"


@pytest.mark.parametrize("character", [b"\x00", b"\x01", b"\x0b", b"\x1b", b"\x1f", b"\n", b"\t"])
def test_a_raw_control_character_in_a_string_is_a_400(service, error_records, character):
    reply = answer(service, error_records, b'{"question": "which%sport?", "context": "On 8080."}' % character)
    assert reply.status == 400
    assert reply.error()["message"].startswith("the body is not valid JSON: Invalid control character at")


def test_escaped_control_characters_and_nul_are_text_like_any_other(service, error_records):
    question = "Which \u0000port\u0001?\u001f\u007f\u2028"
    context = "\u0000The container\u0007 listens\r\non port\t8080.\u0000\u001b[31m"
    reply = answer(service, error_records, json.dumps({"question": question, "context": context}).encode())
    assert reply.status == 200
    assert_answers([reply.json()], [context])


def test_control_characters_in_a_csv_row_are_text(service, error_records):
    reply = answer(service, error_records, b'"which\x00port?","it\x01 listens on\x1f 8080"\n', "text/csv")
    assert reply.status == 200
    assert reply.content_type == "text/csv" and len(reply.body.splitlines()) == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"question": "\\ud800", "context": "It listens on port 8080."}',
        b'{"question": "Which port?", "context": "It listens on port 8080.\\udfff"}',
        b'{"inputs": {"question": "q", "context": "c"}, "\\ud800": 1}',
        b'{"inputs": {"question": "q", "context": "c"}, "parameters": {"\\udbff": 1}}',
        b'{"inputs": [{"question": "q", "context": "c"}, {"question": "\\uDC00\\uD800", "context": "c"}]}',
    ],
)
def test_a_lone_surrogate_is_a_400_not_a_crash(service, error_records, body):
    # Once a TypeError in the tokenizer (500), and in a field name a 400 that could not be encoded at all.
    reply = answer(service, error_records, body)
    assert reply.status == 400
    assert "lone UTF-16 surrogate, not a Unicode character" in reply.error()["message"]


def test_a_lone_surrogate_in_a_json_lines_record_is_that_lines_error(service, error_records):
    reply = answer(service, error_records, b'{"question": "\\ud800", "context": "c"}\n', "application/jsonlines")
    assert reply.status == 200
    assert json.loads(reply.body)["error"]["message"] == (
        "line 1 is not valid JSON for this endpoint: \\ud800 is a lone UTF-16 surrogate, not a Unicode character"
    )


def test_a_surrogate_pair_is_one_character_and_answered(service, error_records):
    reply = answer(
        service, error_records, b'{"question": "\\ud83d\\ude00?", "context": "Smile \\ud83d\\ude00 at 8080."}'
    )
    assert reply.status == 200
    assert_answers([reply.json()], ["Smile \U0001f600 at 8080."])


def test_an_error_message_quoting_a_lone_surrogate_still_encodes():
    assert json.loads(error_body("bad_request", "bad key '\ud800'", "r1"))["error"]["message"] == "bad key '?'"


def test_a_100k_character_question_of_many_tokens_is_a_400_naming_its_length(service, error_records):
    question = "why " * 25_000
    assert len(question) == 100_000
    reply = answer(service, error_records, json.dumps({"question": question, "context": "short"}).encode())
    assert reply.status == 400
    assert reply.error()["message"].startswith("inputs[0].question is 25000 tokens long: with max_seq_len=384")


def test_a_100k_character_question_of_one_word_is_one_token_and_answered(service, error_records):
    # WordPiece reads a word over 100 characters as one [UNK] token: length in characters is not the limit.
    context = "The container listens on port 8080."
    reply = answer(service, error_records, json.dumps({"question": "a" * 100_000, "context": context}).encode())
    assert reply.status == 200
    assert_answers([reply.json()], [context])


def test_a_100k_character_question_in_a_json_lines_record_is_that_lines_error(service, error_records):
    lines = [{"question": "why " * 25_000, "context": "short"}, {"question": "Which port?", "context": "On 8080."}]
    reply = answer(
        service, error_records, "\n".join(json.dumps(line) for line in lines).encode(), "application/jsonlines"
    )
    assert reply.status == 200
    first, second = (json.loads(line) for line in reply.body.splitlines())
    assert first["error"]["line"] == 1 and "25000 tokens long" in first["error"]["message"]
    assert_answers([second], ["On 8080."])


def test_a_100k_character_context_is_split_into_windows_and_answered(service, error_records):
    context = "The container listens on port 8080. " * 2_778
    assert len(context) > 100_000
    reply = answer(service, error_records, json.dumps({"question": "Which port?", "context": context}).encode())
    assert reply.status == 200
    assert_answers([reply.json()], [context])


def test_a_10000_item_batch_is_answered_in_order(service, error_records):
    # Within the 6 MB body limit there is no item limit: SageMaker's MULTI_RECORD batches hold thousands of
    # records, and the invocation timeout bounds the time.
    items = [
        {"question": f"Which port, {i}?", "context": f"Item {i} listens on port {8000 + i}."} for i in range(10_000)
    ]
    reply = answer(service, error_records, json.dumps({"inputs": items}).encode())
    assert reply.status == 200
    assert_answers(reply.json(), [item["context"] for item in items])


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (b'{"question": "a", "context": "c", "question": "b"}', "question"),
        (b'{"inputs": {"question": "q", "context": "c", "context": "d"}}', "context"),
        (b'{"inputs": {"question": "q", "context": "c"}, "parameters": {"top_k": 1, "top_k": 2}}', "top_k"),
        (b'{"inputs": [], "inputs": [{"question": "q", "context": "c"}]}', "inputs"),
        (b'{"question": "q", "context": "c", "parameters": {}, "parameters": {}}', "parameters"),
    ],
)
def test_duplicated_keys_are_a_400_naming_the_key(service, error_records, body, key):
    reply = answer(service, error_records, body)
    assert reply.status == 400
    assert reply.error()["message"] == f"the body is not valid JSON for this endpoint: key {key!r} appears twice"


def test_duplicated_keys_in_a_json_lines_record_are_that_lines_error(service, error_records):
    reply = answer(
        service, error_records, b'{"question": "a", "question": "b", "context": "c"}\n', "application/jsonlines"
    )
    assert reply.status == 200
    assert json.loads(reply.body)["error"]["message"] == (
        "line 1 is not valid JSON for this endpoint: key 'question' appears twice"
    )


@pytest.mark.parametrize("body", [b"", b" \n\t ", b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16")])
def test_empty_bom_and_utf16_bodies_are_a_400(service, error_records, body):
    assert answer(service, error_records, body).status == 400


def test_a_classifier_takes_control_characters_100k_characters_and_10000_texts(classifier, error_records):
    texts = ["\u0000 nul \u0007 bell \u001b[31m", "long " * 20_000, *(f"text number {i}" for i in range(10_000))]
    reply = answer(classifier, error_records, json.dumps({"inputs": texts}).encode())
    assert reply.status == 200
    assert len(reply.json()) == len(texts)
    assert {result["label"] for result in reply.json()} <= {"NEGATIVE", "POSITIVE"}


def test_a_classifier_refuses_a_lone_surrogate(classifier, error_records):
    reply = answer(classifier, error_records, b'{"inputs": ["fine", "\\udc00"]}')
    assert reply.status == 400
    assert "lone UTF-16 surrogate" in reply.error()["message"]


def test_the_service_still_answers_after_all_of_it(service, error_records):
    reply = answer(service, error_records, b'{"question": "Which port?", "context": "It listens on port 8080."}')
    assert reply.status == 200
    assert_answers([reply.json()], ["It listens on port 8080."])
