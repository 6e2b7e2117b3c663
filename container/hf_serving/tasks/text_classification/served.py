"""The served text-classification model: one result per text or text pair, in the pipeline's shapes."""

from __future__ import annotations

from hf_serving.monitoring.outcomes import Prediction
from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.text_classification.classifier import ClassificationParameters, TextClassifier, TextPair
from hf_serving.tasks.text_classification.requests import ClassificationItem, ClassificationRequest


class TextClassificationModel(BatchedModel[ClassificationItem, ClassificationParameters, object]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.classifier = TextClassifier(parts.engine, parts.tokenizer, parts.config, parts.attributor)

    def answer(self, items: list[ClassificationItem], parameters: ClassificationParameters) -> list[ItemAnswer[object]]:
        return [ItemAnswer(result, tokens) for result, tokens in self.classifier.answer_items(items, parameters)]

    def predictions(self, result: object, request: ClassificationRequest) -> tuple[Prediction, ...]:
        """The top label, and its score where that is a probability: softmax's or sigmoid's, never a logit
        (function_to_apply none, raw_scores, a regression model's default)."""
        top = result[0] if isinstance(result, list) else result  # top_k's ranked list, best first; or legacy dict
        if not isinstance(top, dict):
            return ()
        function = request.parameters.function_to_apply or self.classifier.default_function
        return (Prediction(str(top["label"]), float(top["score"]) if function != "none" else None),)

    def class_names(self) -> tuple[str, ...]:
        return tuple(label for _, label in sorted(self.classifier.id2label.items()))

    def format(self, request: ClassificationRequest, results: list[object]) -> object:
        """The pipeline's shapes: a lone text without top_k still comes back in a list; a lone pair never does."""
        if request.is_batch:
            return results
        return results[0] if isinstance(request.items[0], TextPair) or not request.parameters.legacy else results

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started.", "Warming up the model before /ping says ready."]}
