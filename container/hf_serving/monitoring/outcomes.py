"""What one answered item predicted, as the prediction metrics and the drift monitor read it.

A task turns each item's result into an ItemOutcome (tasks/base.py BatchedModel.predictions): the class it predicted
with that prediction's confidence (a classifier's top label, zero-shot's top label, each entity group token
classification found, a QA answer's score without a class), and the tokens the model read for it. Labels are the
model's own words; the metrics bound how many distinct ones they keep.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prediction:
    label: str | None  # the predicted class; None where the task predicts no class (QA's answer, fill-mask's token)
    confidence: float | None  # that prediction's score in [0, 1]; None where the task has none (embeddings)


@dataclass(frozen=True)
class ItemOutcome:
    """One item (a text, a question, a pair) of an answered request."""

    predictions: tuple[Prediction, ...]  # one for most tasks; one per entity group for token classification, or none
    tokens: int | None  # the tokens the model read for it; None when not known (a response-cache hit read none)
