"""Answers compared as a batch gives them and as a request alone gets them."""

from __future__ import annotations

import pytest


def same_answer(got: object, alone: object) -> bool:
    """The same answers and offsets; scores to float32's precision (on some CPUs, a Xeon with AMX seen here, a
    padded batch and a single row take different kernels, which differ in a score's last bits)."""
    if isinstance(got, list) and isinstance(alone, list):
        return len(got) == len(alone) and all(same_answer(g, a) for g, a in zip(got, alone, strict=True))
    if isinstance(got, dict) and isinstance(alone, dict):
        return got.keys() == alone.keys() and all(
            got[k] == pytest.approx(alone[k], rel=1e-5) if k == "score" else got[k] == alone[k] for k in got
        )
    return got == alone
