"""The served question-answering model: answers with character offsets, in the pipeline's shapes."""

from __future__ import annotations

from hf_serving.tasks.base import BatchedModel, LoadedParts, TaskSpec
from hf_serving.tasks.question_answering.answerer import Answer, QAInput, QAParameters, QuestionAnswerer
from hf_serving.tasks.question_answering.requests import QARequest, format_answers


class QuestionAnsweringModel(BatchedModel[QAInput, QAParameters]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.answerer = QuestionAnswerer(parts.engine, parts.tokenizer, parts.config, parts.attributor)

    def answer(self, items: list[QAInput], parameters: QAParameters) -> list[object]:
        return list(self.answerer(items, parameters))

    def encode_result(self, result: object) -> object:
        answers: list[Answer] = result  # type: ignore[assignment]  # one item's answers, best first
        return [answer.to_dict() for answer in answers]

    def decode_result(self, stored: object) -> object:
        return [Answer(answer=entry["answer"], score=entry["score"], start=entry["start"], end=entry["end"],
                       explanation=entry.get("explanation"))
                for entry in stored]  # type: ignore[attr-defined]

    def format(self, request: QARequest, results: list[object]) -> object:
        answers: list[list[Answer]] = results  # type: ignore[assignment]  # what answer() returned
        return format_answers(request, answers)

    def warmup_payload(self) -> object:
        return {"inputs": {"question": "Where does the container listen?",
                           "context": "The container listens on port 8080 for requests to /invocations."}}
