"""The served text-classification model: one result per text, in the pipeline's shapes."""

from __future__ import annotations

from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.text_classification.classifier import ClassificationParameters, TextClassifier
from hf_serving.tasks.text_classification.requests import ClassificationRequest


class TextClassificationModel(BatchedModel[str, ClassificationParameters, object]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.classifier = TextClassifier(parts.engine, parts.tokenizer, parts.config, parts.attributor)

    def answer(self, items: list[str], parameters: ClassificationParameters) -> list[ItemAnswer[object]]:
        return [ItemAnswer(result, tokens) for result, tokens in self.classifier.answer_items(items, parameters)]

    def format(self, request: ClassificationRequest, results: list[object]) -> object:
        """The pipeline's shapes: a lone text without top_k still comes back in a list."""
        return results if request.is_batch or request.parameters.legacy else results[0]

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started.", "Warming up the model before /ping says ready."]}
