"""Sentence embeddings as sentence-transformers' encode() computes them, batched across requests.

The Transformer module's token states come from the engine; the rest of the module list (prompt, lower-casing,
truncation at max_seq_length, Pooling, Normalize) is applied here in numpy, from the model's own files
(tasks/sentence_embeddings/layout.py). In float32 the vectors equal encode()'s to a cosine of 0.99999
(tests/unit/tasks/sentence_embeddings/test_fidelity.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hf_serving.engines.base import Engine
from hf_serving.errors import BadRequest, PayloadTooLarge
from hf_serving.observability import stage_clock
from hf_serving.tasks import text_batches
from hf_serving.tasks.sentence_embeddings.layout import SentenceTransformerLayout
from hf_serving.tasks.sentence_embeddings.pooling import normalize, pool, truncate_dimensions
from hf_serving.tasks.sentence_embeddings.requests import EmbeddingParameters


class SentenceEmbedder:
    def __init__(self, engine: Engine, tokenizer: Any, config: Any, layout: SentenceTransformerLayout) -> None:
        self.engine = engine
        self.tokenizer = tokenizer
        self.layout = layout
        self.max_length = text_batches.max_length(tokenizer, config, layout.max_seq_length)

    @property
    def dimension(self) -> int | None:
        return self.layout.pooling.output_dimension()

    def __call__(self, texts: Sequence[str], params: EmbeddingParameters) -> list[list[float]]:
        return self.embed(texts, params)[0]

    def embed(
        self, texts: Sequence[str], params: EmbeddingParameters, names: Sequence[str] | None = None
    ) -> tuple[list[list[float]], list[int]]:
        """The vectors, one per text, and the tokens the model read of each; `names` says how the request names
        each text, for errors ("inputs[3]" when None)."""
        texts = self._prepared(texts, params)
        if not params.truncate:
            self._check_lengths(texts, names)
        rows = text_batches.tokenize(self.tokenizer, texts, self.max_length, params.truncation_direction)
        vectors = np.stack(text_batches.run_sorted(self.engine, self.tokenizer, rows, self._pooled))
        normalized = self.layout.normalize if params.normalize is None else params.normalize
        if params.dimensions is None:  # the model's own pipeline, as encode() runs it: Normalize, then truncate_dim
            if normalized:
                vectors = normalize(vectors)
            if self.layout.truncate_dim is not None:
                vectors = truncate_dimensions(vectors, self.layout.truncate_dim)
        else:  # text-embeddings-inference's dimensions: cut first, then normalise, so the vectors stay unit length
            if params.dimensions > vectors.shape[1]:
                raise BadRequest(f"parameters.dimensions must be <= {vectors.shape[1]}, this model's dimension")
            vectors = truncate_dimensions(vectors, params.dimensions)
            if normalized:
                vectors = normalize(vectors)
        return vectors.tolist(), [len(row["input_ids"]) for row in rows]

    def token_states(
        self, texts: Sequence[str], params: EmbeddingParameters, refuse_over: Callable[[int], None] | None = None
    ) -> tuple[list[list[list[float]]], list[int]]:
        """Each text's token vectors before pooling (encode(output_value="token_embeddings")): the prompt and special
        tokens included, padding not; and the tokens the model read of each. `refuse_over(tokens)` is called once the
        tokens are known, before the model pass: the answer grows with them (a vector per token)."""
        texts = self._prepared(texts, params)
        if not params.truncate:
            self._check_lengths(texts, None)
        rows = text_batches.tokenize(self.tokenizer, texts, self.max_length, params.truncation_direction)
        if refuse_over is not None:
            refuse_over(sum(len(row["input_ids"]) for row in rows))
        states = text_batches.run_sorted(self.engine, self.tokenizer, rows, _token_states)
        return states, [len(row["input_ids"]) for row in rows]

    def _prepared(self, texts: Sequence[str], params: EmbeddingParameters) -> list[str]:
        """The prompt in front and lower-casing, as sentence-transformers' Transformer module does first."""
        name = params.prompt_name or self.layout.default_prompt_name
        prompt = ""
        if name is not None:
            if name not in self.layout.prompts:
                known = ", ".join(sorted(self.layout.prompts)) or "none"
                raise BadRequest(f"parameters.prompt_name {name!r} is not one of this model's prompts ({known})")
            prompt = self.layout.prompts[name]
        prepared = [prompt + text for text in texts]
        return [text.lower() for text in prepared] if self.layout.do_lower_case else prepared

    def _check_lengths(self, texts: list[str], names: Sequence[str] | None) -> None:
        with stage_clock.tokenising():
            lengths = [len(ids) for ids in self.tokenizer(texts, truncation=False)["input_ids"]]
        for index, length in enumerate(lengths):
            if length > self.max_length:
                name = names[index] if names is not None else f"inputs[{index}]"
                raise PayloadTooLarge(
                    f"{name} is {length} tokens long, over this model's "
                    f"{self.max_length}: send truncate: true, or a shorter text"
                )

    def _pooled(self, outputs: dict[str, np.ndarray], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        return list(pool(self.layout.pooling, outputs["last_hidden_state"], feed["attention_mask"]))


def _token_states(outputs: dict[str, np.ndarray], feed: dict[str, np.ndarray]) -> list[list[list[float]]]:
    return [states.tolist() for states in text_batches.unpadded(outputs, feed, "last_hidden_state")]
