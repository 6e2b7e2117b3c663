"""The band search of qa_decoding selects exactly the spans of the pipeline's n x n matrix, or defers to it."""

from __future__ import annotations

import numpy as np
import pytest

from hf_serving import deadline
from hf_serving.tasks.question_answering import decoding as qa_decoding


def _pipeline_spans(start, end, topk, max_answer_len, desired):
    """transformers 5.2.0's decode_spans as it was: the whole matrix, then the desired-token filter."""
    starts, ends, scores = qa_decoding._matrix_top_spans(start, end, topk, max_answer_len)
    allowed = desired.nonzero()
    keep = np.isin(starts, allowed) & np.isin(ends, allowed)
    return starts[keep], ends[keep], scores[keep]


def _probabilities(rng, n, masked_from, levels=None):
    logits = rng.normal(0.0, 3.0, n).astype(np.float32)
    if levels is not None:  # few distinct values: many exact ties
        logits = np.round(logits * levels) / levels
    logits[masked_from:] = -10000.0
    exp = np.exp(logits - logits.max())
    probabilities = (exp / exp.sum()).astype(np.float32)[None]
    probabilities[0, 0] = 0.0
    return probabilities


def _case(seed: int, n: int, levels=None):
    rng = np.random.default_rng(seed)
    masked_from = int(rng.integers(max(2, n // 2), n + 1))
    start, end = _probabilities(rng, n, masked_from, levels), _probabilities(rng, n, masked_from, levels)
    desired = np.ones((1, n), dtype=np.int64)
    desired[0, masked_from:] = 0
    return start, end, desired


@pytest.mark.parametrize("seed", range(40))
def test_spans_equal_the_pipelines_on_random_windows(seed):
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(2, 385))
    topk, max_answer_len = int(rng.integers(1, 25)), int(rng.integers(1, 40))
    start, end, desired = _case(seed, n)
    got = qa_decoding.decode_spans(start, end, topk, max_answer_len, desired)
    expected = _pipeline_spans(start, end, topk, max_answer_len, desired)
    for got_part, expected_part in zip(got, expected, strict=True):
        np.testing.assert_array_equal(got_part, expected_part)
        assert got_part.dtype == expected_part.dtype


def test_the_band_answers_a_full_window_without_the_matrix():
    start, end, _ = _case(7, 384)
    band = qa_decoding._band_top_spans(start[0], end[0], 12, 15)
    assert band is not None
    starts, ends, scores = band
    assert len(starts) == 12 and np.all(ends >= starts) and np.all(ends - starts < 15)
    np.testing.assert_array_equal(scores, start[0, starts] * end[0, ends])
    assert np.all(scores[:-1] > scores[1:])


@pytest.mark.parametrize("seed", range(20))
def test_ties_defer_to_the_pipelines_own_selection(seed):
    start, end, desired = _case(seed, 40, levels=1)  # logits rounded to integers: products tie
    got = qa_decoding.decode_spans(start, end, 12, 15, desired)
    expected = _pipeline_spans(start, end, 12, 15, desired)
    for got_part, expected_part in zip(got, expected, strict=True):
        np.testing.assert_array_equal(got_part, expected_part)


def test_a_tie_at_the_boundary_is_not_decided_by_the_band():
    n = 20
    start = np.zeros((1, n), dtype=np.float32)
    end = np.zeros((1, n), dtype=np.float32)
    start[0, 1:] = 0.05
    end[0, 1:] = 0.05  # every span in the band has the same score
    assert qa_decoding._band_top_spans(start[0], end[0], 3, 5) is None


def test_too_few_positive_spans_are_not_decided_by_the_band():
    n = 30
    start = np.zeros((1, n), dtype=np.float32)
    end = np.zeros((1, n), dtype=np.float32)
    start[0, 3], end[0, 4] = 0.6, 0.7  # one positive span; the other candidates score 0
    assert qa_decoding._band_top_spans(start[0], end[0], 12, 15) is None
    desired = np.ones((1, n), dtype=np.int64)
    got = qa_decoding.decode_spans(start, end, 12, 15, desired)
    expected = _pipeline_spans(start, end, 12, 15, desired)
    for got_part, expected_part in zip(got, expected, strict=True):
        np.testing.assert_array_equal(got_part, expected_part)
    assert (got[0][0], got[1][0]) == (3, 4)


@pytest.mark.parametrize("seed", range(10))
def test_the_desired_token_filter_is_the_pipelines_isin(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    desired = (rng.random((1, n)) < [0.0, 0.3, 0.9, 1.0][seed % 4]).astype(np.int64)
    tokens = rng.integers(0, n, 40)
    expected = np.isin(tokens, desired.nonzero())
    np.testing.assert_array_equal(qa_decoding._desired(desired[0], tokens), expected)


def test_decoding_stops_at_the_invocation_deadline() -> None:
    logits = np.zeros(8, dtype=np.float32)
    window = qa_decoding.WindowLogits(logits, logits, np.zeros(8, dtype=np.int64), encoding=None, pad_offset=0)
    with deadline.deadline_after(-1.0), pytest.raises(deadline.DeadlineExceeded):
        qa_decoding.decode_answers("context", [window] * 3, 1, 15, False, 1)
