"""Texts through an engine, shortest first: tokenised once, padded per chunk to its own longest text.

Sorting by length means each chunk pads little; the results are put back in the caller's order. The deadline is
checked between chunks, so a request past the invocation timeout stops costing the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from hf_serving import deadline
from hf_serving.engines.base import Engine
from hf_serving.observability import stage_clock
from hf_serving.tasks.padding import pad_rows, pad_values

Row = TypeVar("Row")


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int, truncation_side: str = "right") -> list[dict]:
    """One dict of token lists per text, truncated to max_length tokens from the given side; len(row["input_ids"]) is
    what the model reads of it."""
    default_side = tokenizer.truncation_side
    tokenizer.truncation_side = truncation_side  # read at each call; a worker tokenises one request at a time
    try:
        with stage_clock.tokenising():
            encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    finally:
        tokenizer.truncation_side = default_side
    return rows_of(encoded)


def rows_of(encoded: Any, names: Sequence[str] | None = None) -> list[dict]:
    """A tokenizer's batch output as one dict of token lists per row (of `names`, or of everything it made)."""
    names = list(encoded) if names is None else names
    return [{name: encoded[name][index] for name in names} for index in range(len(encoded["input_ids"]))]


def unpadded(outputs: dict[str, np.ndarray], feed: dict[str, np.ndarray], name: str) -> list[np.ndarray]:
    """Each row's output `name` over its own tokens: a chunk is right-padded, and its attention mask's ones are a
    row's tokens."""
    return [outputs[name][row, :length] for row, length in enumerate(feed["attention_mask"].sum(axis=1))]


def run_sorted(
    engine: Engine,
    tokenizer: Any,
    rows: list[dict],
    read: Callable[[dict[str, np.ndarray], dict[str, np.ndarray]], Sequence[Row]],
    max_tokens: int | None = None,
    weights: Sequence[int] | None = None,
    max_weight: int | None = None,
) -> list[Row]:
    """read(outputs, feed) gives one result per row of a chunk; returns them for every row, in the rows' order.
    feed holds the chunk's padded inputs (attention_mask among them: a task that pools needs it). max_tokens caps a
    chunk's padded size (rows x longest) below the engine's own cap (MAX_BATCH_TOKENS) where a task's outputs grow
    with it (fill-mask's [rows, tokens, vocabulary] logits); max_weight caps the sum of the chunk's rows' `weights`
    where they grow with something else (fill-mask's [1, masks, vocabulary]). A row over a cap still goes, alone."""
    order = sorted(range(len(rows)), key=lambda index: len(rows[index]["input_ids"]))
    engine_tokens = getattr(engine, "max_batch_tokens", None)  # a test's stand-in engine may not say
    max_tokens = min((cap for cap in (max_tokens, engine_tokens) if cap is not None), default=None)
    names = list(rows[0])  # everything the tokenizer made: the engine takes its inputs from it, a pooling task the mask
    values = pad_values(tokenizer)
    found: dict[int, Row] = {}
    lengths = [len(row["input_ids"]) for row in rows]
    for chunk in _chunks(order, lengths, engine.max_batch_size, max_tokens, weights, max_weight):
        deadline.check()
        feed = pad_rows([rows[index] for index in chunk], names, values)
        with stage_clock.model_pass(len(chunk)):
            outputs = engine.run(feed)
        for index, result in zip(chunk, read(outputs, feed), strict=True):
            found[index] = result
    return [found[index] for index in range(len(rows))]


def _chunks(
    order: list[int],
    lengths: list[int],
    max_rows: int,
    max_tokens: int | None,
    weights: Sequence[int] | None = None,
    max_weight: int | None = None,
) -> list[list[int]]:
    """Consecutive runs of `order` (shortest first) of at most max_rows rows and, where given, max_tokens padded
    tokens (the last row added is a chunk's longest, so its padded size is rows x that row's length) and max_weight
    of the rows' weights summed."""
    chunks: list[list[int]] = []
    chunk: list[int] = []
    weight = 0
    for index in order:
        row_weight = weights[index] if weights is not None else 0
        if chunk and (
            len(chunk) == max_rows
            or (max_tokens is not None and (len(chunk) + 1) * lengths[index] > max_tokens)
            or (max_weight is not None and weight + row_weight > max_weight)
        ):
            chunks.append(chunk)
            chunk, weight = [], 0
        chunk.append(index)
        weight += row_weight
    if chunk:
        chunks.append(chunk)
    return chunks


def max_length(tokenizer: Any, config: Any, cap: int | None = None) -> int:
    """The most tokens a text may keep: the tokenizer's limit, the position embeddings, and a task's own cap."""
    limits = [
        n
        for n in (tokenizer.model_max_length, getattr(config, "max_position_embeddings", None), cap)
        if isinstance(n, int) and 0 < n < 1_000_000
    ]  # tokenizers without a limit report a huge sentinel
    return min(limits) if limits else 512
