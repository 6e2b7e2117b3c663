"""The served text-classification model: request shapes, validation, Batch Transform records.

Accepted, as on AWS's Hugging Face container:
    {"inputs": "text", "parameters": {...}}          one result
    {"inputs": ["t1", "t2"], "parameters": {...}}    one result per text, in order
    "text" or ["t1", "t2"]                           the same without parameters
A JSON Lines record is any of these; a CSV row is one text (one column).
"""

from __future__ import annotations

from dataclasses import dataclass

from hf_serving.errors import BadRequest, ServingError
from hf_serving.media import CSV, json_type_name
from hf_serving.records import RecordBatch, RecordResults
from hf_serving.served_model import strict_csv
from hf_serving.tasks import Task
from hf_serving.text_classification import ClassificationParameters, TextClassifier


@dataclass(frozen=True)
class ClassificationRequest:
    texts: list[str]
    parameters: ClassificationParameters
    is_batch: bool


def parse_classification_request(payload: object) -> ClassificationRequest:
    parameters = ClassificationParameters()
    if isinstance(payload, dict):
        unknown = sorted(set(payload) - {"inputs", "parameters"})
        if unknown:
            raise BadRequest(f"unknown field(s) {', '.join(unknown)}: expected inputs and parameters")
        if "inputs" not in payload:
            raise BadRequest("inputs is missing: send {\"inputs\": \"text\"} or {\"inputs\": [\"t1\", \"t2\"]}")
        parameters = ClassificationParameters.from_request(payload.get("parameters"))
        payload = payload["inputs"]
    if isinstance(payload, list):
        if not payload:
            raise BadRequest("inputs must not be an empty list")
        return ClassificationRequest([_text(item, f"inputs[{i}]") for i, item in enumerate(payload)],
                                     parameters, is_batch=True)
    return ClassificationRequest([_text(payload, "inputs")], parameters, is_batch=False)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string, not {json_type_name(value)}")
    if not value.strip():
        raise BadRequest(f"{where} must not be empty")
    return value


def format_results(request: ClassificationRequest, results: list[object]) -> object:
    """The pipeline's shapes: a lone text without top_k still comes back in a list."""
    return results if request.is_batch or request.parameters.legacy else results[0]


class TextClassificationModel:
    task = Task.TEXT_CLASSIFICATION

    def __init__(self, model, tokenizer, device: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.classifier = TextClassifier(model, tokenizer, device)

    def predict(self, payload: object) -> object:
        request = parse_classification_request(payload)
        return format_results(request, self.classifier(request.texts, request.parameters))

    def predict_records(self, batch: RecordBatch) -> RecordResults:
        requests = [self._parse_record(record, batch.format) for record in batch.records]
        if batch.format == CSV:
            strict_csv(list(requests))
        results: list[object] = list(requests)
        groups: dict[ClassificationParameters, list[tuple[int, ClassificationRequest]]] = {}
        for index, request in enumerate(requests):
            if isinstance(request, ClassificationRequest):
                groups.setdefault(request.parameters, []).append((index, request))
        for parameters, group in groups.items():
            # Truncation means no text can fail the model: one pass for every record of the group.
            flat = self.classifier([text for _, request in group for text in request.texts], parameters)
            offset = 0
            for index, request in group:
                results[index] = format_results(request, flat[offset:offset + len(request.texts)])
                offset += len(request.texts)
        return RecordResults(batch.format, results)

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started.", "Warming up the model before /ping says ready."]}

    @staticmethod
    def _parse_record(record: object, record_format: str) -> ClassificationRequest | ServingError:
        if isinstance(record, ServingError):
            return record
        try:
            if record_format == CSV:
                if not isinstance(record, list) or len(record) != 1:
                    raise BadRequest("a row must have 1 column: the text (quote it if it holds commas)")
                record = record[0]
            return parse_classification_request(record)
        except ServingError as exc:
            return exc
