"""The served token-classification model: per text, the pipeline's list of entities."""

from __future__ import annotations

from hf_serving.tasks.base import BatchedModel, LoadedParts, TaskSpec
from hf_serving.tasks.token_classification.requests import TokenClassificationParameters, TokenClassificationRequest
from hf_serving.tasks.token_classification.tagger import TokenTagger


class TokenClassificationModel(BatchedModel[str, TokenClassificationParameters]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.tagger = TokenTagger(parts.engine, parts.tokenizer, parts.config)

    def answer(self, items: list[str], parameters: TokenClassificationParameters) -> list[object]:
        return [entities for entities, _ in self.tagger(items, parameters)]

    def format(self, request: TokenClassificationRequest, results: list[object]) -> object:
        """The pipeline's shapes: a text's list of entities, or a list of them for a list of texts."""
        return results if request.is_batch else results[0]

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started in Paris.", "Ada Lovelace warmed up the model before /ping."],
                "parameters": {"aggregation_strategy": "simple"}}
