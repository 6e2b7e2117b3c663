"""What model_fn returns: a loaded model that turns a decoded request payload into a JSON-able answer."""

from __future__ import annotations

from typing import Protocol

from hf_serving.qa_requests import format_answers, parse_qa_request
from hf_serving.question_answering import QuestionAnswerer
from hf_serving.tasks import Task


class ServedModel(Protocol):
    task: Task

    def predict(self, payload: object) -> object:
        """Validate a decoded payload (BadRequest naming the field) and answer it."""
        ...

    def warmup_payload(self) -> object:
        """A valid request payload, run once at start before /ping reports ready."""
        ...


class QuestionAnsweringModel:
    task = Task.QUESTION_ANSWERING

    def __init__(self, model, tokenizer, device: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.answerer = QuestionAnswerer(model, tokenizer, device)

    def predict(self, payload: object) -> object:
        request = parse_qa_request(payload)
        return format_answers(request, self.answerer(request.inputs, request.parameters))

    def warmup_payload(self) -> object:
        return {"inputs": {"question": "Where does the container listen?",
                           "context": "The container listens on port 8080 for requests to /invocations."}}
