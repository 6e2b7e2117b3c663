"""Synthetic item outcomes and profiles for the drift tests: a POSITIVE/NEGATIVE classifier's answers."""

from __future__ import annotations

import random

from hf_serving.monitoring.drift.profile import ModelProfile, ProfileBuilder
from hf_serving.monitoring.outcomes import ItemOutcome, Prediction

LABELS = ("NEGATIVE", "POSITIVE")


def outcomes(
    count: int,
    positive: float = 0.5,
    tokens: tuple[int, int] = (6, 14),
    seed: int = 0,
    confidence: tuple[float, float] = (0.9, 1.0),
) -> list[ItemOutcome]:
    """`count` answers, `positive` of them POSITIVE, confidences and token lengths uniform in the ranges."""
    rng = random.Random(seed)
    return [
        ItemOutcome(
            (Prediction("POSITIVE" if rng.random() < positive else "NEGATIVE", rng.uniform(*confidence)),),
            rng.randint(*tokens),
        )
        for _ in range(count)
    ]


def baseline(count: int = 2000, seed: int = 1, **kwargs: object) -> ModelProfile:
    builder = ProfileBuilder("text-classification", LABELS)
    builder.add(outcomes(count, seed=seed, **kwargs))  # type: ignore[arg-type]
    return builder.profile({"kind": "synthetic"})
