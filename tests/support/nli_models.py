"""Tiny NLI models for zero-shot classification, built at test time (random weights, the real uncased vocabulary),
and the comparison of zero-shot answers with the pipeline's."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_serving.tools.demo_nli import NLI_LABELS, build_nli

__all__ = ["NLI_LABELS", "assert_same_answers", "tiny_nli"]


def tiny_nli(out_dir: Path, labels: tuple[str, ...] = NLI_LABELS, seed: int = 7) -> Path:
    """A tiny DistilBertForSequenceClassification with these labels, its scores spread apart (demo_nli.py)."""
    return build_nli(out_dir, "tiny", labels, seed=seed, initializer_range=0.3)


def assert_same_answers(ours: object, theirs: object) -> None:
    """The same nesting, sequences and label order; scores within 1e-5 relative (float32 through other padding)."""
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for mine, expected in zip(ours, theirs, strict=True):
            assert_same_answers(mine, expected)
        return
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    assert set(ours) == {"sequence", "labels", "scores"}
    assert (ours["sequence"], ours["labels"]) == (theirs["sequence"], theirs["labels"])
    assert ours["scores"] == pytest.approx(theirs["scores"], rel=1e-5, abs=1e-7)
