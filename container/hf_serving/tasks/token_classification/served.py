"""The served token-classification model: per text, the pipeline's list of entities."""

from __future__ import annotations

from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.token_classification.aggregation import Entity
from hf_serving.tasks.token_classification.requests import TokenClassificationParameters, TokenClassificationRequest
from hf_serving.tasks.token_classification.tagger import TokenTagger


class TokenClassificationModel(BatchedModel[str, TokenClassificationParameters, list[Entity]]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.tagger = TokenTagger(parts.engine, parts.tokenizer, parts.config)

    def answer(self, items: list[str], parameters: TokenClassificationParameters) -> list[ItemAnswer[list[Entity]]]:
        """Per text its entities (JSON already: the response cache stores them as they are), and the tokens of all
        its windows."""
        return [ItemAnswer(entities, tokens) for entities, tokens in self.tagger(items, parameters)]

    def format(self, request: TokenClassificationRequest, results: list[list[Entity]]) -> object:
        """The pipeline's shapes: a text's list of entities, or a list of them for a list of texts."""
        return results if request.is_batch else results[0]

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started in Paris.", "Ada Lovelace warmed up the model before /ping."],
                "parameters": {"aggregation_strategy": "simple"}}
