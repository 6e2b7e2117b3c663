"""Batch Transform through the real stack: JSON Lines and CSV, /execution-parameters, the payload limit."""

from __future__ import annotations

import csv
import io
import json

import pytest
import requests

from tests.support.answers import same_answer
from tests.support.stack import Stack, model_dir_with_code

pytestmark = pytest.mark.integration

RECORDS = [
    {"question": "Which port?", "context": "The container listens on port 8080."},
    {"question": "Who wrote it?", "context": "It was written by a small team in Berlin, Germany."},
    {"inputs": {"question": "Where?", "context": "Requests go to the invocations route."}, "parameters": {"top_k": 2}},
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    yield from Stack(
        model_dir_with_code(tmp),
        tmp / "serve.log",
        SAGEMAKER_BATCH="true",
        SAGEMAKER_BATCH_STRATEGY="SINGLE_RECORD",
        SAGEMAKER_MAX_CONCURRENT_TRANSFORMS="2",
        SAGEMAKER_MAX_PAYLOAD_IN_MB="1",
    ).serving()


@pytest.fixture(scope="module")
def expected(stack):
    """Each record's answer when sent alone as JSON: every batch format must give the same."""
    answers = []
    for record in RECORDS:
        response = stack.invoke(record)
        assert response.status_code == 200
        answers.append(response.json())
    return answers


def jsonlines(*lines: object) -> bytes:
    return b"".join((line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines)


def test_execution_parameters_follow_the_configuration(stack):
    response = requests.get(f"{stack.url}/execution-parameters", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"MaxConcurrentTransforms": 2, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 1}


def test_max_payload_in_mb_is_honoured(stack):
    over = b'{"question": "q", "context": "' + b"a" * (1024 * 1024) + b'"}'
    assert stack.invoke(data=over).status_code == 413
    under = b'{"question": "q", "context": "c", "padding": "' + b"a" * (900 * 1024) + b'"}'
    response = stack.invoke(data=under)
    assert response.status_code == 400 and "padding" in response.json()["error"]["message"]


def test_multi_record_jsonlines_one_output_line_per_input_line_with_errors_in_place(stack, expected):
    body = jsonlines(RECORDS[0], b"{not json", RECORDS[1], {"question": "no context"}, RECORDS[2])
    response = stack.invoke(data=body, content_type="application/jsonlines")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/jsonlines")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == 5
    assert same_answer([lines[0], lines[2], lines[4]], expected), lines
    assert lines[1]["error"]["line"] == 2 and "not valid JSON" in lines[1]["error"]["message"]
    assert lines[3]["error"] == {"code": "bad_request", "message": "context is missing", "line": 4}


def test_single_record_jsonlines(stack, expected):
    response = stack.invoke(data=jsonlines(RECORDS[1]), content_type="application/jsonlines")
    assert response.status_code == 200
    assert response.text == json.dumps(expected[1], separators=(",", ":"), ensure_ascii=False) + "\n"


def test_jsonlines_answered_as_json_when_asked(stack, expected):
    response = stack.invoke(data=jsonlines(*RECORDS), content_type="application/jsonlines", Accept="application/json")
    assert response.status_code == 200
    assert same_answer(response.json(), expected), response.json()


def test_csv_rows_in_csv_answers_out(stack, expected):
    rows = io.StringIO()
    csv.writer(rows).writerows(
        [[r["question"], r["context"]] for r in RECORDS[:2]]
        + [["Quoted, with a comma?", 'A "quoted" context,\nwith a newline.']]
    )
    response = stack.invoke(data=rows.getvalue().encode(), content_type="text/csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    answered = list(csv.reader(io.StringIO(response.text)))
    assert len(answered) == 3
    for row, answer in zip(answered[:2], expected[:2], strict=True):
        assert row[1:] == [str(answer["start"]), str(answer["end"]), answer["answer"]], row
        assert float(row[0]) == pytest.approx(answer["score"], rel=1e-5), row
    context = 'A "quoted" context,\nwith a newline.'
    assert context[int(answered[2][1]) : int(answered[2][2])] == answered[2][3]


def test_csv_answered_as_json_when_asked(stack, expected):
    body = "".join(f'"{r["question"]}","{r["context"]}"\n' for r in RECORDS[:2]).encode()
    response = stack.invoke(data=body, content_type="text/csv", Accept="application/json")
    assert response.status_code == 200
    assert same_answer(response.json(), expected[:2]), response.json()


def test_a_bad_csv_row_is_a_400_naming_the_row(stack):
    response = stack.invoke(data=b"q,c\nonly one column\n", content_type="text/csv")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("row 2: a row must have 2 columns")


def test_csv_answers_cannot_be_asked_of_jsonlines(stack):
    response = stack.invoke(data=jsonlines(RECORDS[0]), content_type="application/jsonlines", Accept="text/csv")
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"
