"""The served question-answering model: answers with character offsets, in the pipeline's shapes."""

from __future__ import annotations

from typing import cast

from hf_serving.monitoring.outcomes import Prediction
from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.question_answering.answerer import Answer, QAInput, QAParameters, QuestionAnswerer
from hf_serving.tasks.question_answering.requests import QARequest, format_answers


class QuestionAnsweringModel(BatchedModel[QAInput, QAParameters, list[Answer]]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.answerer = QuestionAnswerer(parts.engine, parts.tokenizer, parts.config, parts.attributor)

    def answer(self, items: list[QAInput], parameters: QAParameters) -> list[ItemAnswer[list[Answer]]]:
        return [ItemAnswer(answers, tokens) for answers, tokens in self.answerer.answer_items(items, parameters)]

    def encode_result(self, result: list[Answer]) -> object:
        return [answer.to_dict() for answer in result]  # one item's answers, best first

    def decode_result(self, stored: object) -> list[Answer]:
        entries = cast(list[dict], stored)  # what encode_result stored
        return [
            Answer(
                answer=entry["answer"],
                score=entry["score"],
                start=entry["start"],
                end=entry["end"],
                explanation=entry.get("explanation"),
            )
            for entry in entries
        ]

    def predictions(self, result: list[Answer], request: QARequest) -> tuple[Prediction, ...]:
        """The best answer's score: an answer has no class to count."""
        return (Prediction(None, max(answer.score for answer in result)),) if result else ()

    def format(self, request: QARequest, results: list[list[Answer]]) -> object:
        return format_answers(request, results)

    def warmup_payload(self) -> object:
        return {
            "inputs": {
                "question": "Where does the container listen?",
                "context": "The container listens on port 8080 for requests to /invocations.",
            }
        }
