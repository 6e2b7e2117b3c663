"""What model_fn returns: a loaded model that turns decoded request payloads into JSON-able answers."""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol

from hf_serving.errors import BadRequest, ServingError
from hf_serving.media import CSV
from hf_serving.qa_requests import QARequest, format_answers, parse_qa_request
from hf_serving.question_answering import QAParameters, QuestionAnswerer
from hf_serving.records import RecordBatch, RecordResults
from hf_serving.tasks import Task


class ServedModel(Protocol):
    task: Task

    def predict(self, payload: object) -> object:
        """Validate one decoded JSON payload (BadRequest naming the field) and answer it."""
        ...

    def predict_records(self, batch: RecordBatch) -> RecordResults:
        """Answer many records at once; each bad record gets its own error, in place."""
        ...

    def warmup_payload(self) -> object:
        """A valid request payload, run once at start before /ping reports ready."""
        ...


def strict_csv(results: list[object]) -> None:
    """CSV has no room for an error object: a bad row fails the request, naming the row."""
    for number, result in enumerate(results, start=1):
        if isinstance(result, ServingError):
            raise type(result)(f"row {number}: {result.message}")


class QuestionAnsweringModel:
    task = Task.QUESTION_ANSWERING
    csv_columns = ("question", "context")

    def __init__(self, model, tokenizer, device: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.answerer = QuestionAnswerer(model, tokenizer, device)

    def predict(self, payload: object) -> object:
        request = parse_qa_request(payload)
        return format_answers(request, self.answerer(request.inputs, request.parameters))

    def predict_records(self, batch: RecordBatch) -> RecordResults:
        requests = [self._parse_record(record, batch.format) for record in batch.records]
        if batch.format == CSV:
            strict_csv(list(requests))
        results: list[object] = list(requests)  # errors stay in place; requests are replaced by answers
        by_parameters: dict[QAParameters, list[tuple[int, QARequest]]] = defaultdict(list)
        for index, request in enumerate(requests):
            if isinstance(request, QARequest):
                by_parameters[request.parameters].append((index, request))
        for parameters, group in by_parameters.items():
            self._answer_together(group, parameters, results)
        if batch.format == CSV:
            strict_csv(results)
        return RecordResults(batch.format, results)

    def warmup_payload(self) -> object:
        return {"inputs": {"question": "Where does the container listen?",
                           "context": "The container listens on port 8080 for requests to /invocations."}}

    def _parse_record(self, record: object, record_format: str) -> QARequest | ServingError:
        if isinstance(record, ServingError):
            return record
        try:
            if record_format == CSV:
                record = self._csv_payload(record)
            return parse_qa_request(record)
        except ServingError as exc:
            return exc

    def _csv_payload(self, row: object) -> dict:
        if not isinstance(row, list) or len(row) != len(self.csv_columns):
            raise BadRequest(f"a row must have {len(self.csv_columns)} columns: {','.join(self.csv_columns)}")
        return dict(zip(self.csv_columns, row, strict=True))

    def _answer_together(self, group: list[tuple[int, QARequest]], parameters: QAParameters,
                         results: list[object]) -> None:
        """One model pass for every record that shares these parameters; one by one if one of them fails."""
        inputs = [item for _, request in group for item in request.inputs]
        try:
            answers = self.answerer(inputs, parameters)
        except ServingError:
            for index, request in group:
                try:
                    results[index] = format_answers(request, self.answerer(request.inputs, parameters))
                except ServingError as exc:
                    results[index] = exc
            return
        offset = 0
        for index, request in group:
            count = len(request.inputs)
            results[index] = format_answers(request, answers[offset:offset + count])
            offset += count
