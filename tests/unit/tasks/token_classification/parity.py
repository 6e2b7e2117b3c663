"""Comparing an answer with the pipeline's: the same JSON, scores within float32's noise."""

from __future__ import annotations

import pytest


def assert_same(ours: object, theirs: object, without: tuple[str, ...] = ()) -> None:
    """Same nesting, same keys in the same order, same labels, words and offsets; scores to 1e-5 relative."""
    assert type(ours) is type(theirs), (ours, theirs)
    if isinstance(theirs, list):
        assert isinstance(ours, list)
        assert len(ours) == len(theirs), (ours, theirs)
        for mine, reference in zip(ours, theirs, strict=True):
            assert_same(mine, reference, without)
        return
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    assert [key for key in ours if key not in without] == [key for key in theirs if key not in without]
    for key, value in theirs.items():
        if key == "score":
            assert isinstance(ours["score"], float)
            assert ours["score"] == pytest.approx(float(value), rel=1e-5, abs=1e-6)
        elif key not in without:
            assert ours[key] == value, (key, ours, theirs)
