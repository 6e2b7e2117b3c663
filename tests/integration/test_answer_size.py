"""Answer sizes through the real stack: an answer of many megabytes is delivered whole by the same workers, one over
SERVE_MAX_RESPONSE_MB is a 413 naming the limit, and no answer's size ever kills a worker (multi-model-server's
decoder of worker responses used to, past the payload limit + 1 MiB)."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.paths import minilm
from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

SENTENCES = [f"Sentence number {i} says something short." for i in range(1000)]
SLOW = 180.0  # 1,000 texts through MiniLM on a CPU shared with other tests


@pytest.fixture(scope="module")
def embeddings(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("answer-size-embeddings")
    yield from Stack(minilm(), tmp / "serve.log").serving()


@pytest.fixture(scope="module")
def batch_transform(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("answer-size-batch")
    yield from Stack(
        minilm(), tmp / "serve.log", SAGEMAKER_BATCH="true", SAGEMAKER_BATCH_STRATEGY="MULTI_RECORD"
    ).serving()


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("answer-size-small")
    yield from Stack(model_dir_with_code(tmp), tmp / "serve.log", SERVE_MAX_RESPONSE_MB="1").serving()


@pytest.fixture(scope="module")
def large_answers(tmp_path_factory):
    """Answers of exactly the default limit (16 MB), in model-server batches of 32 (a GPU's default): 64 admitted."""
    tmp = tmp_path_factory.mktemp("answer-size-large")
    code = "def transform_fn(model, body, content_type, accept):\n    return b'x' * int(body), 'text/plain'\n"
    yield from Stack(model_dir_with_code(tmp, code=code), tmp / "serve.log", MODEL_SERVER_BATCH_SIZE="32").serving()


def worker_pids(stack: Stack) -> set[int]:
    stack.track()
    return {process.pid for process in stack.forked_workers()}


def test_1000_texts_are_answered_with_1000_vectors_by_the_same_workers(embeddings):
    before = worker_pids(embeddings)
    response = embeddings.invoke({"inputs": SENTENCES}, timeout=SLOW)
    assert response.status_code == 200, response.text[:500]
    vectors = response.json()
    assert len(vectors) == 1000 and {len(vector) for vector in vectors} == {384}
    assert len(response.content) > 7 * 1024 * 1024  # over the old limit: the payload limit + 1 MiB
    assert worker_pids(embeddings) == before
    assert embeddings.ping().status_code == 200


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        (b"\n" * (100 * 1024), 100 * 1024),  # 100 KB of blank lines: one error record each
        (b"{}\n" * 50_000, 50_000),  # 50k empty objects: one error record each
    ],
)
def test_many_error_records_are_answered_whole_by_the_same_workers(embeddings, body, lines):
    before = worker_pids(embeddings)
    response = embeddings.invoke(data=body, content_type="application/jsonlines", timeout=SLOW)
    assert response.status_code == 200, response.text[:500]
    answered = response.text.splitlines()
    assert len(answered) == lines
    assert json.loads(answered[-1])["error"]["line"] == lines
    assert worker_pids(embeddings) == before
    assert embeddings.ping().status_code == 200


def test_texts_whose_vectors_alone_are_over_the_limit_are_a_413_naming_it_before_the_model_runs(embeddings):
    before = worker_pids(embeddings)
    texts = ["x"] * 20_000  # 7.7 million numbers: 30 MB of answer at the very least
    response = embeddings.invoke({"inputs": texts}, timeout=SLOW)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "response_too_large"
    assert "the answer to 20,000 texts holds 7,680,000 numbers" in error["message"]
    assert "16 MB answer limit (SERVE_MAX_RESPONSE_MB)" in error["message"]
    stages = dict(part.split(";dur=") for part in response.headers["Server-Timing"].split(", "))
    assert float(stages["inference"]) < 2000  # no model pass: 20,000 texts through MiniLM take many seconds here
    assert worker_pids(embeddings) == before


def test_batch_transform_of_1000_sentences_is_answered_whole_one_line_each(batch_transform):
    before = worker_pids(batch_transform)
    body = "".join(json.dumps({"inputs": sentence}) + "\n" for sentence in SENTENCES)
    response = batch_transform.invoke(data=body, content_type="application/jsonlines", timeout=SLOW)
    assert response.status_code == 200, response.text[:500]
    answered = [json.loads(line) for line in response.text.splitlines()]
    assert len(answered) == 1000
    assert all(len(vectors) == 1 and len(vectors[0]) == 384 for vectors in answered)
    assert worker_pids(batch_transform) == before


def test_an_answer_over_the_limit_is_a_413_naming_it_and_the_next_request_is_answered(small_limit):
    before = worker_pids(small_limit)
    # 20,000 records without a context: ~90 bytes of error record each, ~1.8 MB of answer, over 1 MB.
    body = b'{"question": "q"}\n' * 20_000
    response = small_limit.invoke(data=body, content_type="application/jsonlines", timeout=SLOW)
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "response_too_large" and error["request_id"]
    assert "SERVE_MAX_RESPONSE_MB" in error["message"] and "1 MB" in error["message"]
    following = small_limit.invoke({"question": "Which port?", "context": "It listens on port 8080."})
    assert following.status_code == 200 and "answer" in following.json()
    assert worker_pids(small_limit) == before


def test_a_csv_record_with_a_150_kb_field_is_answered_as_json_lines_is(small_limit):
    context = "The container listens on port 8080. " * (150 * 1024 // 36)
    rows = io.StringIO()
    csv.writer(rows).writerow(["Which port?", context])
    as_csv = small_limit.invoke(data=rows.getvalue(), content_type="text/csv", Accept="application/json", timeout=SLOW)
    as_lines = small_limit.invoke(
        data=json.dumps({"question": "Which port?", "context": context}) + "\n",
        content_type="application/jsonlines",
        Accept="application/json",
        timeout=SLOW,
    )
    assert as_lines.status_code == 200, as_lines.text[:500]
    assert as_csv.status_code == 200, as_csv.text[:500]
    assert as_csv.json() == as_lines.json()


def x_bytes_received(stack: Stack, size: int) -> int | str:
    """The answer's length when it is all b"x" (read as it streams in: 64 of them would be 1 GB), else its error."""
    with requests.post(
        f"{stack.url}/invocations", data=str(size), headers={"Content-Type": "text/plain"}, timeout=SLOW, stream=True
    ) as response:
        if response.status_code != 200:
            return f"{response.status_code} {response.text[:300]}"
        received = 0
        for chunk in response.iter_content(1024 * 1024):
            assert chunk == b"x" * len(chunk)
            received += len(chunk)
        return received


def test_64_answers_of_the_default_limit_at_once_are_all_delivered_whole_by_the_same_workers(large_answers):
    before = worker_pids(large_answers)
    size = 16 * 1024 * 1024
    with ThreadPoolExecutor(64) as pool:
        received = list(pool.map(lambda _: x_bytes_received(large_answers, size), range(64)))
    assert received == [size] * 64
    assert worker_pids(large_answers) == before
    assert "OutOfMemoryError" not in large_answers.log()
    over = large_answers.invoke(data=str(size + 1), content_type="text/plain", timeout=SLOW)
    assert over.status_code == 413 and over.json()["error"]["code"] == "response_too_large"
