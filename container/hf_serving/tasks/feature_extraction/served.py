"""HF_TASK=feature-extraction: the hidden state of every token, as transformers' feature-extraction pipeline and
AWS's Hugging Face toolkit return it.

Per text, a [1][tokens][hidden] nested list (the pipeline kept the batch axis of its one-text forward pass),
special tokens included, padding excluded. Unlike the pipeline, a text longer than the model's maximum is
truncated instead of failing. For one vector per text, serve the model as sentence-embeddings.
"""

from __future__ import annotations

import numpy as np

from hf_serving.tasks import text_batches
from hf_serving.tasks.base import BatchedModel, ItemAnswer, LoadedParts, ParsedRequest, TaskSpec


class FeatureExtractionModel(BatchedModel[str, None, object]):
    def __init__(self, spec: TaskSpec, parts: LoadedParts) -> None:
        super().__init__(spec, parts)
        self.tokenizer = parts.tokenizer
        self.max_length = text_batches.max_length(parts.tokenizer, parts.config)
        self.hidden_size = getattr(parts.config, "hidden_size", None) or 0

    def numbers_per_item(self, parameters: None) -> int:
        return self.hidden_size  # one token's at least: a text has one or more

    def answer(self, items: list[str], parameters: None) -> list[ItemAnswer[object]]:
        rows = text_batches.tokenize(self.tokenizer, items, self.max_length)
        self._refuse_states_over_the_limit(rows)
        states = text_batches.run_sorted(self.engine, self.tokenizer, rows, _unpadded_states)
        return [ItemAnswer(state, len(row["input_ids"])) for state, row in zip(states, rows, strict=True)]

    def _refuse_states_over_the_limit(self, rows: list[dict]) -> None:
        """Once the tokens are known, before the model pass: a slice's states alone over the answer limit are a 413.
        Counting one token a text before, 2,000 texts of 128 tokens passed, and their 197 million numbers took
        gigabytes as Python floats before the answer could be refused."""
        tokens = sum(len(row["input_ids"]) for row in rows)
        self._refuse_numbers_over_the_limit(
            tokens * self.hidden_size, f"the answer holds the hidden states of at least {tokens:,} tokens,"
        )

    def format(self, request: ParsedRequest[str, None], results: list[object]) -> object:
        return results if request.is_batch else results[0]

    def warmup_payload(self) -> object:
        return {"inputs": ["The container started.", "Warming up the model before /ping says ready."]}


def _unpadded_states(outputs: dict[str, np.ndarray], feed: dict[str, np.ndarray]) -> list[object]:
    return [[states.tolist()] for states in text_batches.unpadded(outputs, feed, "last_hidden_state")]
