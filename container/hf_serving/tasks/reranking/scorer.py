"""(query, text) pairs scored as sentence-transformers' CrossEncoder.predict scores them, batched across requests.

CrossEncoder 6.2 tokenises each pair as the tokenizer's pair input, truncated "longest_first" to the tokenizer's
model_max_length (capped at the position embeddings), and applies its activation to the one logit. Here the pairs
of many requests go through the engine shortest first (tasks/text_batches.run_sorted), and the activation is applied
per request when the answer is shaped (activate), so the cached result of a pair is its logit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hf_serving.engines.base import Engine
from hf_serving.errors import PayloadTooLarge
from hf_serving.observability import stage_clock
from hf_serving.tasks import text_batches
from hf_serving.tasks.reranking.layout import CrossEncoderLayout
from hf_serving.tasks.reranking.requests import Pair, Scoring
from hf_serving.tasks.scores import sigmoid

# A query is cut, before pairing, past this many times the model's maximum length in tokens: the pair keeps at most
# the maximum anyway, and a 5 MB query repeated over 1,000 texts must not cost 5 GB of tokenising.
QUERY_WINDOWS_KEPT = 2


@dataclass(frozen=True)
class ScoredPair:
    logit: float
    tokens: int  # the pair's tokens as the model read them


def activate(logits: np.ndarray, activation: str) -> np.ndarray:
    """The activation CrossEncoder.predict applies, in float32 as torch does."""
    logits = logits.astype(np.float32)
    if activation == "sigmoid":
        return sigmoid(logits)
    if activation == "tanh":
        return np.tanh(logits)
    return logits


def max_pair_length(tokenizer: Any, config: Any, max_seq_length: int | None) -> int:
    """The tokenizer's model_max_length capped at the position embeddings, as sentence-transformers' Transformer
    module sets it; sentence_bert_config.json's max_seq_length replaces both there (capped here all the same: past
    the position embeddings the model fails)."""
    if max_seq_length is None:
        return text_batches.max_length(tokenizer, config)
    positions = getattr(config, "max_position_embeddings", None)
    return min(max_seq_length, positions) if isinstance(positions, int) and positions > 0 else max_seq_length


class PairScorer:
    def __init__(self, engine: Engine, tokenizer: Any, config: Any, layout: CrossEncoderLayout) -> None:
        self.engine = engine
        self.tokenizer = tokenizer
        self.layout = layout
        self.max_length = max_pair_length(tokenizer, config, layout.max_seq_length)

    def __call__(self, pairs: Sequence[Pair], scoring: Scoring) -> list[ScoredPair]:
        """One logit per pair, in order (a 413 when truncate is false and a pair is over the maximum)."""
        queries = self._queries({pair.query for pair in pairs}, scoring.truncation_direction)
        texts = [pair.text.lower() if self.layout.do_lower_case else pair.text for pair in pairs]
        rows = self._tokenize([queries[pair.query] for pair in pairs], texts, scoring)
        logits = text_batches.run_sorted(
            self.engine, self.tokenizer, rows, lambda outputs, _: list(outputs["logits"][:, 0])
        )
        return [ScoredPair(float(logit), len(row["input_ids"])) for logit, row in zip(logits, rows, strict=True)]

    def _queries(self, queries: set[str], direction: str) -> dict[str, str]:
        """Each distinct query as the model reads it: the default prompt in front, lower-cased where the model's
        Transformer is, cut to QUERY_WINDOWS_KEPT maximum lengths of tokens (from the side truncation cuts)."""
        prepared = {}
        keep = QUERY_WINDOWS_KEPT * self.max_length
        for query in queries:
            text = self.layout.query_prompt + query
            text = text.lower() if self.layout.do_lower_case else text
            if len(text) > keep:  # a shorter one is cheap to pair whole (a cut only ever saves tokenising)
                with stage_clock.tokenising():
                    offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)[
                        "offset_mapping"
                    ]
                if len(offsets) > keep:
                    text = text[: offsets[keep - 1][1]] if direction == "right" else text[offsets[-keep][0] :]
            prepared[query] = text
        return prepared

    def _tokenize(self, queries: list[str], texts: list[str], scoring: Scoring) -> list[dict]:
        default_side = self.tokenizer.truncation_side
        self.tokenizer.truncation_side = scoring.truncation_direction  # a worker tokenises one batch at a time
        try:
            with stage_clock.tokenising():
                encoded = self.tokenizer(
                    queries,
                    texts,
                    padding=False,
                    truncation="longest_first" if scoring.truncate else False,
                    max_length=self.max_length,
                )
        finally:
            self.tokenizer.truncation_side = default_side
        rows = text_batches.rows_of(encoded)
        if not scoring.truncate:
            for row in rows:
                if len(row["input_ids"]) > self.max_length:
                    raise PayloadTooLarge(
                        f"a (query, text) pair is {len(row['input_ids'])} tokens long, over this "
                        f"model's {self.max_length}: send truncate: true, or shorter texts"
                    )
        return rows
