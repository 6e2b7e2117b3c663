"""The served token-classification model: per text, the pipeline's list of entities."""

from __future__ import annotations

from hf_serving.monitoring.outcomes import Prediction
from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, TaskSpec
from hf_serving.tasks.token_classification.aggregation import Entity
from hf_serving.tasks.token_classification.requests import TokenClassificationParameters, TokenClassificationRequest
from hf_serving.tasks.token_classification.tagger import TokenTagger


def entity_class(entity: Entity) -> str:
    """An entity group's class as the pipeline names it; a token's tag without its B-/I- prefix, as the pipeline
    strips it to group tokens."""
    group = entity.get("entity_group")
    if group is not None:
        return str(group)
    tag = str(entity.get("entity"))
    return tag[2:] if tag.startswith(("B-", "I-")) else tag


class TokenClassificationModel(BatchedModel[str, TokenClassificationParameters, list[Entity]]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.tagger = TokenTagger(parts.engine, parts.tokenizer, parts.config)

    def answer(self, items: list[str], parameters: TokenClassificationParameters) -> list[ItemAnswer[list[Entity]]]:
        """Per text its entities (JSON already: the response cache stores them as they are), and the tokens of all
        its windows."""
        return [ItemAnswer(entities, tokens) for entities, tokens in self.tagger(items, parameters)]

    def predictions(self, result: list[Entity], request: TokenClassificationRequest) -> tuple[Prediction, ...]:
        """One prediction per entity found (per entity group, or per token with aggregation none), its class
        without the B-/I- prefix, so that both strategies count the same classes."""
        return tuple(Prediction(entity_class(entity), float(entity["score"])) for entity in result)

    def class_names(self) -> tuple[str, ...]:
        """The model's labels as entity classes, in its order: O, B-PER, I-PER, B-LOC... is O, PER, LOC."""
        classes = (entity_class({"entity": label}) for _, label in sorted(self.tagger.aggregator.id2label.items()))
        return tuple(dict.fromkeys(classes))

    def format(self, request: TokenClassificationRequest, results: list[list[Entity]]) -> object:
        """The pipeline's shapes: a text's list of entities, or a list of them for a list of texts."""
        return results if request.is_batch else results[0]

    def warmup_payload(self) -> object:
        return {
            "inputs": ["The container started in Paris.", "Ada Lovelace warmed up the model before /ping."],
            "parameters": {"aggregation_strategy": "simple"},
        }
