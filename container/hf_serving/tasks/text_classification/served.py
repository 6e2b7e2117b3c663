"""The served text-classification model: one result per text or text pair, in the pipeline's shapes."""

from __future__ import annotations

from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.text_classification.classifier import ClassificationParameters, TextClassifier, TextPair
from hf_serving.tasks.text_classification.requests import ClassificationItem, ClassificationRequest


class TextClassificationModel(BatchedModel[ClassificationItem, ClassificationParameters, object]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.classifier = TextClassifier(parts.engine, parts.tokenizer, parts.config, parts.attributor)

    def answer(self, items: list[ClassificationItem],
               parameters: ClassificationParameters) -> list[ItemAnswer[object]]:
        return [ItemAnswer(result, tokens) for result, tokens in self.classifier.answer_items(items, parameters)]

    def format(self, request: ClassificationRequest, results: list[object]) -> object:
        """The pipeline's shapes: a lone text without top_k still comes back in a list; a lone pair never does."""
        if request.is_batch:
            return results
        return results[0] if isinstance(request.items[0], TextPair) or not request.parameters.legacy else results

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started.", "Warming up the model before /ping says ready."]}
