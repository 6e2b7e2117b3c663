"""From a model's start/end logits to answers: transformers 5.2.0's QA decoding, without a model.

Everything here works on numpy arrays and on the tokenizers.Encoding of each window (for the word
and character offsets); the tokenizer and the model are hf_serving.tasks.question_answering.answerer's business.

A line-by-line port of transformers 5.2.0's `select_starts_ends` and `decode_spans`
(transformers/pipelines/question_answering.py), the last release with a question-answering pipeline.
Its quirks are kept on purpose, because clients compare our answers with the pipeline's:

- candidates are taken `pre_topk = 2 * top_k + 10` per window, through the same numpy calls
  (argmax / argsort / argpartition on the same array shape), so ties among zero-score spans
  are broken exactly as the pipeline broke them;
- the "desired token" test is `np.isin(index, mask.nonzero())` on a (1, n) mask: `nonzero()` returns
  (rows, cols) and the rows are all 0, so token 0 always passes it (no change while token 0 is [CLS],
  which is never masked). Zero-score spans that start or end on [CLS], or end before they start, come
  back as (empty or odd) answers when a window has fewer than `pre_topk` real candidates;
- probabilities are float32 throughout, as the pipeline computed them.

`decode_answers` reproduces the pipeline's postprocess: identical answer texts
(compared case-insensitively) are merged by adding their scores, keeping the first one's offsets,
whether they come from the same window or from overlapping ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from hf_serving import deadline

# The pipeline's masking value for logits of tokens that cannot be in an answer.
_MASKED_LOGIT = -10000.0


@dataclass(frozen=True)
class WindowLogits:
    """One window of one input as the model saw it, unpadded, with what decoding needs."""

    start_logits: np.ndarray  # float32, shape (n,)
    end_logits: np.ndarray
    p_mask: np.ndarray  # 1 where a token cannot be part of an answer
    encoding: Any  # tokenizers.Encoding: maps tokens to words and characters
    pad_offset: int  # the pipeline's left-padding shift of token indices (0 unless padding_side="left")


@dataclass(frozen=True)
class WindowSpans:
    """The candidate spans of one window: token indices (into the unpadded window) and their scores."""

    starts: np.ndarray
    ends: np.ndarray
    scores: np.ndarray
    null_score: float  # P(start=0) * P(end=0): the window's score for "no answer"


@dataclass
class RawAnswer:
    """An answer being assembled: its score grows as identical answers from other spans merge in."""

    answer: str
    score: float
    start: int
    end: int


def candidates_per_window(top_k: int) -> int:
    """How many spans the pipeline drew per window (align_to_words=True, its default)."""
    return top_k * 2 + 10


def decode_spans(
    start: np.ndarray, end: np.ndarray, topk: int, max_answer_len: int, desired_tokens: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `topk` best (start, end) spans of one window; start/end/desired_tokens have shape (1, n)."""
    band = _band_top_spans(start[0], end[0], topk, max_answer_len)
    if band is not None:
        starts, ends, scores = band
    else:
        starts, ends, scores = _matrix_top_spans(start, end, topk, max_answer_len)
    keep = _desired(desired_tokens[0], starts) & _desired(desired_tokens[0], ends)
    return starts[keep], ends[keep], scores[keep]


def _desired(desired: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The pipeline's np.isin(tokens, desired[None].nonzero()), without its sort of the whole window.

    nonzero() of the (1, n) mask is (rows, cols) and isin flattens both: the rows are all 0, so token 0 passes
    whenever any token is desired (see the module docstring), and the others where they are desired.
    """
    return (desired[tokens] != 0) | ((tokens == 0) & bool(desired.any()))


def _matrix_top_spans(
    start: np.ndarray, end: np.ndarray, topk: int, max_answer_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pipeline's own computation: every (start, end) pair of the window in an n x n matrix."""
    outer = np.matmul(np.expand_dims(start, -1), np.expand_dims(end, 1))
    # Zero out spans that end before they start or are longer than max_answer_len tokens. No span is longer
    # than the window: capped there, a huge max_answer_len cannot overflow numpy's C long (it was a 500).
    candidates = np.tril(np.triu(outer), min(max_answer_len, outer.shape[-1]) - 1)
    scores_flat = candidates.flatten()
    idx_sort: np.ndarray
    if topk == 1:
        idx_sort = np.array([np.argmax(scores_flat)])
    elif len(scores_flat) < topk:
        idx_sort = np.argsort(-scores_flat)
    else:
        idx = np.argpartition(-scores_flat, topk)[0:topk]
        idx_sort = idx[np.argsort(-scores_flat[idx])]
    starts, ends = np.unravel_index(idx_sort, candidates.shape)[1:]
    return starts, ends, candidates[0, starts, ends]


def _band_top_spans(
    start: np.ndarray, end: np.ndarray, topk: int, max_answer_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The same spans from the band of the matrix that can be non-zero, or None where they could differ.

    The matrix of _matrix_top_spans is zero outside the band end - start in [0, max_answer_len): at 384
    tokens that is 15 of every 384 values, and the n x n products, masks and selection cost ~1 ms of CPU per
    window, which on a GPU host is more than the model. Each band value is the same float32 product.
    When the top_k band values are positive and strictly ordered, with a gap to the next one, both
    computations select the same spans in the same order; otherwise (ties, too few positive spans) the
    caller runs the pipeline's own computation, whose tie-breaking is numpy's.
    """
    starts, ends = _band_indices(start.shape[0], min(max_answer_len, start.shape[0]))
    if starts.size <= topk:
        return None
    values = start[starts] * end[ends]
    part = np.argpartition(-values, topk)
    top = part[:topk]
    top = top[np.argsort(-values[top])]
    ranked = values[top]
    if not (ranked[-1] > 0 and ranked[-1] > values[part[topk]] and bool(np.all(ranked[:-1] > ranked[1:]))):
        return None
    return starts[top], ends[top], ranked


@lru_cache(maxsize=64)
def _band_indices(n: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) token indices of every span of 1..width tokens in a window of n tokens."""
    starts = np.concatenate([np.arange(n - length) for length in range(width)])
    ends = starts + np.concatenate([np.full(n - length, length) for length in range(width)])
    starts.flags.writeable = ends.flags.writeable = False  # shared between calls through the cache
    return starts, ends


def select_spans(
    start_logits: np.ndarray, end_logits: np.ndarray, p_mask: np.ndarray, top_k: int, max_answer_len: int
) -> WindowSpans:
    """Softmax the logits of one unpadded window over its answerable tokens, then decode its spans.

    start_logits/end_logits: float32, shape (n,). p_mask: 1 where a token cannot be in the answer.
    """
    desired = np.abs(p_mask.astype(np.int64)[None] - 1)
    masked = desired == 0
    start = _softmax(np.where(masked, _MASKED_LOGIT, start_logits[None].astype(np.float32)))
    end = _softmax(np.where(masked, _MASKED_LOGIT, end_logits[None].astype(np.float32)))
    null_score = (start[0, 0] * end[0, 0]).item()
    # Token 0 ([CLS]) is the "no answer" slot, never an answer span itself.
    start[0, 0] = end[0, 0] = 0.0
    starts, ends, scores = decode_spans(start, end, top_k, max_answer_len, desired)
    return WindowSpans(starts, ends, scores, null_score)


def _softmax(logits: np.ndarray) -> np.ndarray:
    # The pipeline divides by the sum over the whole (1, n) array, in float32.
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum()


def decode_answers(
    context: str,
    windows: Sequence[WindowLogits],
    top_k: int,
    max_answer_len: int,
    handle_impossible_answer: bool,
    sequence_index: int,
) -> list[RawAnswer]:
    """The pipeline's postprocess for one input: spans of every window, merged by text, ranked.

    sequence_index: which side of the (question, context) pair holds the context (1 unless the
    tokenizer pads on the left, which put the context first).
    """
    found: dict[str, RawAnswer] = {}  # by lower-cased text, in the order found (ties keep the pipeline's order)
    null_score = 1000000.0  # the pipeline's "large and positive" start for the minimum
    for window in windows:
        deadline.check()  # a 6 MB context is thousands of windows: abandoned past the invocation timeout
        spans = select_spans(
            window.start_logits, window.end_logits, window.p_mask, candidates_per_window(top_k), max_answer_len
        )
        null_score = min(null_score, spans.null_score)
        for start, end, score in zip(spans.starts, spans.ends, spans.scores, strict=True):
            char_start, char_end = char_span(
                window.encoding, start - window.pad_offset, end - window.pad_offset, sequence_index
            )
            merge_answer(found, context[char_start:char_end], score.item(), char_start, char_end)
    return rank_answers(list(found.values()), top_k, null_score if handle_impossible_answer else None)


def char_span(encoding: Any, start: int, end: int, sequence_index: int) -> tuple[int, int]:
    """Character offsets of tokens start..end widened to whole words, as the pipeline's get_indices.

    A token with no word ([CLS], [SEP]) makes word_to_chars fail on None (TypeError); a negative
    index (left-padding shift) fails the u32 conversion (OverflowError). The pipeline then fell back
    to the two tokens' own offsets, and so does this.
    """
    try:
        start_word = encoding.token_to_word(start)
        end_word = encoding.token_to_word(end)
        char_start = encoding.word_to_chars(start_word, sequence_index=sequence_index)[0]
        char_end = encoding.word_to_chars(end_word, sequence_index=sequence_index)[1]
    except (TypeError, OverflowError):
        char_start = encoding.offsets[start][0]
        char_end = encoding.offsets[end][1]
    return int(char_start), int(char_end)


def merge_answer(answers: dict[str, RawAnswer], text: str, score: float, start: int, end: int) -> None:
    """Add a span's answer: to an existing answer with the same text (any case), else as a new one. A dict, not the
    pipeline's list scan: that was quadratic in the spans of a request (every window's 2 top_k + 10)."""
    existing = answers.get(text.lower())
    if existing is not None:
        existing.score += score
    else:
        answers[text.lower()] = RawAnswer(text, score, start, end)


def rank_answers(answers: list[RawAnswer], top_k: int, null_score: float | None) -> list[RawAnswer]:
    """The top_k answers by score; the empty answer competes when null_score is given."""
    if null_score is not None:
        answers = [*answers, RawAnswer("", null_score, 0, 0)]
    # sorted() is stable, so ties keep the order in which the pipeline found them.
    return sorted(answers, key=lambda answer: answer.score, reverse=True)[:top_k]
