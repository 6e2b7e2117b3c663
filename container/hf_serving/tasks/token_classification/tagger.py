"""Token classification for many texts at once: every text in windows of the model's maximum, every window of every
text in one length-sorted run (tasks/text_batches.py), then the pipeline's aggregation per text (aggregation.py).

A text that fits is one window, answered exactly as transformers' token-classification pipeline answers it. A
longer one is read whole, never truncated: in the pipeline's overlapping windows (the tokenizer's overflowing
tokens) with the request's stride, or, without one, with a quarter of a window of overlap; the windows' entities
are merged as the pipeline merges them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hf_serving.errors import BadRequest
from hf_serving.observability import stage_clock
from hf_serving.tasks import text_batches
from hf_serving.tasks.token_classification.aggregation import Entity, EntityAggregator, Window
from hf_serving.tasks.token_classification.requests import WORD_STRATEGIES, TokenClassificationParameters

# Overlap between windows when the request names no stride, as a share of a window's own tokens: an entity cut at
# one window's edge is whole in the next.
DEFAULT_OVERLAP = 0.25
_NOT_MODEL_INPUTS = ("offset_mapping", "special_tokens_mask", "overflow_to_sample_mapping")


class TokenTagger:
    def __init__(self, engine: Any, tokenizer: Any, config: Any) -> None:
        self.engine = engine
        self.tokenizer = tokenizer
        self.max_length = text_batches.max_length(tokenizer, config)
        # A window's own tokens: the maximum less [CLS] and [SEP] (or whatever the tokenizer adds).
        self.window_tokens = self.max_length - tokenizer.num_special_tokens_to_add(pair=False)
        self.default_stride = int(self.window_tokens * DEFAULT_OVERLAP)
        self.aggregator = EntityAggregator(tokenizer, {int(k): v for k, v in config.id2label.items()})

    def __call__(self, texts: Sequence[str], params: TokenClassificationParameters) -> list[tuple[list[Entity], int]]:
        """Per text: its entities, and the tokens the model read for it (all its windows)."""
        stride = self._stride(params)
        encoded = self._encode(texts, stride)
        names = [name for name in encoded if name not in _NOT_MODEL_INPUTS]  # the engine takes its inputs from these
        rows = text_batches.rows_of(encoded, names)
        logits = text_batches.run_sorted(
            self.engine, self.tokenizer, rows, lambda outputs, feed: text_batches.unpadded(outputs, feed, "logits")
        )
        windows: list[list[Window]] = [[] for _ in texts]
        step = self.window_tokens - stride
        for row, text_index in enumerate(encoded["overflow_to_sample_mapping"]):
            first_index = len(windows[text_index]) * step  # the tokenizer's windows start every `step` tokens
            windows[text_index].append(
                Window(
                    encoded["input_ids"][row],
                    encoded["offset_mapping"][row],
                    encoded["special_tokens_mask"][row],
                    logits[row],
                    first_index,
                )
            )
        return [
            (
                self.aggregator.text_entities(text, text_windows, params.aggregation_strategy, params.ignore_labels),
                sum(len(window.input_ids) for window in text_windows),
            )
            for text, text_windows in zip(texts, windows, strict=True)
        ]

    def _stride(self, params: TokenClassificationParameters) -> int:
        if params.aggregation_strategy in WORD_STRATEGIES and not self.tokenizer.is_fast:
            raise BadRequest(
                f"parameters.aggregation_strategy {params.aggregation_strategy} needs a fast tokenizer: use simple"
            )
        if params.stride is None:
            return self.default_stride
        if params.stride >= self.window_tokens:
            # The tokenizer would panic (a Rust panic, not an exception): refused before it is called.
            raise BadRequest(
                f"parameters.stride must be less than {self.window_tokens} (this model's "
                f"{self.max_length} tokens less its special tokens)"
            )
        return params.stride

    def _encode(self, texts: Sequence[str], stride: int) -> Any:
        """Every text's windows: the first from its start, each next `stride` tokens back from the previous one's end
        (from the right whatever the tokenizer's truncation_side, so that a window's first token index is known)."""
        default_side = self.tokenizer.truncation_side
        self.tokenizer.truncation_side = "right"  # read at each call; a worker tokenises one request at a time
        try:
            with stage_clock.tokenising():
                return self.tokenizer(
                    list(texts),
                    truncation=True,
                    max_length=self.max_length,
                    stride=stride,
                    return_overflowing_tokens=True,
                    return_offsets_mapping=True,
                    return_special_tokens_mask=True,
                    padding=False,
                )
        finally:
            self.tokenizer.truncation_side = default_side
