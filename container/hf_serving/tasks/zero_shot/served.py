"""The served zero-shot model: the pipeline's {"sequence", "labels", "scores"} per text, a list for a list."""

from __future__ import annotations

from hf_serving.monitoring.outcomes import Prediction
from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.zero_shot.classifier import ZeroShotAnswer, ZeroShotClassifier
from hf_serving.tasks.zero_shot.requests import ZeroShotItem, ZeroShotRequest


class ZeroShotModel(BatchedModel[ZeroShotItem, None, ZeroShotAnswer]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.classifier = ZeroShotClassifier(parts.engine, parts.tokenizer, parts.config)

    def answer(self, items: list[ZeroShotItem], parameters: None) -> list[ItemAnswer[ZeroShotAnswer]]:
        """Every item's pairs together: the items carry their own labels, so no parameters split them."""
        return self.classifier(items)

    def predictions(self, result: ZeroShotAnswer, request: ZeroShotRequest) -> tuple[Prediction, ...]:
        """The top candidate label and its score (labels and scores come best first)."""
        labels, scores = result["labels"], result["scores"]
        if not isinstance(labels, list) or not isinstance(scores, list) or not labels:
            return ()
        return (Prediction(str(labels[0]), float(scores[0])),)

    def class_names(self) -> None:
        return None  # each request names its candidate labels

    def format(self, request: ZeroShotRequest, results: list[ZeroShotAnswer]) -> object:
        return results if request.is_batch else results[0]

    def warmup_payload(self) -> object:
        return {
            "inputs": ["The container started.", "Warming up the model before /ping says ready."],
            "parameters": {"candidate_labels": ["start-up", "weather", "sports"]},
        }
