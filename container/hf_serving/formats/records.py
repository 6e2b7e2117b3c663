"""Batch Transform formats: many records in one request, one result per record, in order.

application/jsonlines: each line is one JSON record (the same shapes as a single JSON request). A line
that cannot be decoded or answered gets an error object on its own output line,
{"error": {"code": ..., "message": ..., "line": N}}, and every other line is answered: one bad record
never fails a whole Batch Transform mini-batch. SageMaker sends one line per request with
SINGLE_RECORD and many with MULTI_RECORD; both take this path.

text/csv: each row (RFC 4180 quoting) is one record; its columns depend on the task (question,context
for question answering). CSV cannot carry an error object, so a bad row is a 400 naming the row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from hf_serving.errors import BadRequest, ServingError, status_and_message
from hf_serving.formats import media
from hf_serving.monitoring.outcomes import ItemOutcome

# Python's csv module refuses a field over 131,072 characters by default, a limit of its own that would make a
# 150 KB QA context a 400 in CSV and a 200 in JSON Lines. The body is bounded already (SAGEMAKER_MAX_PAYLOAD_IN_MB,
# at most 100 MB): a field may be as large as that.
CSV_FIELD_CHARS = 100 * 1024 * 1024


@dataclass(frozen=True)
class RecordBatch:
    """What input_fn returns for jsonlines and CSV: decoded records, or the error decoding each."""

    format: str
    records: list[object]  # a decoded JSON value, a CSV row (list[str]), or a ServingError


@dataclass(frozen=True)
class RecordResults:
    """What predict_fn returns for a RecordBatch: one JSON-able result or ServingError per record."""

    format: str
    results: list[object]
    # The tokens the model read for each record, where the task could tell them apart (None: not known)
    tokens: list[int | None] | None = None
    # Each record's items: found in the response cache or not (None: no cache)
    cached: list[list[bool]] | None = None
    # What each record's items predicted, for monitoring (an error record: none; None: not told, a user's model)
    outcomes: list[list[ItemOutcome]] | None = None


def decode_jsonlines(text: str) -> RecordBatch:
    lines = text.split("\n")
    if lines and lines[-1].strip() == "":
        lines.pop()  # the newline that ends the last record starts no new one
    if not lines:
        raise BadRequest("the body holds no JSON Lines records")
    records: list[object] = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(media.decode_json(line, what=f"line {number}"))
        except ServingError as exc:
            records.append(exc)
    return RecordBatch(media.JSONLINES, records)


def decode_csv(text: str) -> RecordBatch:
    csv.field_size_limit(CSV_FIELD_CHARS)  # process-wide; set here, where it is needed, rather than at import
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]
    except csv.Error as exc:
        raise BadRequest(f"the body is not valid CSV: {exc}") from None
    if not rows:
        raise BadRequest("the body holds no CSV rows")
    return RecordBatch(media.CSV, list(rows))


def csv_row_payload(row: object, columns: tuple[str, ...]) -> object:
    """A CSV row as the JSON payload it stands for, by the task's columns: one column is the text, several are the
    named fields of an object (question answering's question,context)."""
    if not isinstance(row, list) or len(row) != len(columns):
        quote = " (quote it if it holds commas)" if len(columns) == 1 else ""
        raise BadRequest(
            f"a row must have {len(columns)} column{'s' if len(columns) > 1 else ''}: {','.join(columns)}{quote}"
        )
    return row[0] if len(columns) == 1 else dict(zip(columns, row, strict=True))


def error_record(exc: BaseException, line: int) -> dict:
    _, code, message = status_and_message(exc)
    return {"error": {"code": code, "message": message, "line": line}}


def encode_jsonlines(results: list[object]) -> bytes:
    lines = [
        error_record(result, number) if isinstance(result, BaseException) else result
        for number, result in enumerate(results, start=1)
    ]
    return b"".join(media.encode_json(line) + b"\n" for line in lines)


def encode_json_list(results: list[object]) -> bytes:
    return media.encode_json(
        [
            error_record(result, number) if isinstance(result, BaseException) else result
            for number, result in enumerate(results, start=1)
        ]
    )


def encode_csv(results: list[object]) -> bytes:
    """One row per result object (its values in key order) or vector (its values); a list of them, one row each. A
    value that is itself a list or an object (zero-shot's labels, a fill-mask text's proposals per mask) is one cell
    of JSON, not Python's repr of it."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    for result in results:
        for row in result if isinstance(result, list) else [result]:
            cells = row.values() if isinstance(row, dict) else row if isinstance(row, list) else [row]
            writer.writerow([_csv_cell(cell) for cell in cells])
    return buffer.getvalue().encode("utf-8")


def _csv_cell(value: object) -> object:
    if isinstance(value, list | dict):
        return media.encode_json(value).decode("utf-8")
    return value
