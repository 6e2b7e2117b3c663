"""The score functions the tasks' references apply to logits, in float32 as they do: softmax over the last axis (or
another), and sigmoid. Question answering keeps its own (its pipeline divides by the whole array's sum)."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(logits - np.max(logits, axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))
