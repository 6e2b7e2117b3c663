"""Tiny NLI models for zero-shot classification, built at test time: random weights, the real uncased vocabulary."""

from __future__ import annotations

from pathlib import Path

from hf_serving.tasks.base import Task
from hf_serving.tools.demo_models import build_model

NLI_LABELS = ("contradiction", "neutral", "entailment")  # MNLI's order, as most NLI models name them


def tiny_nli(out_dir: Path, labels: tuple[str, ...] = NLI_LABELS, seed: int = 7) -> Path:
    """A DistilBertForSequenceClassification with these labels (config.json's id2label and label2id)."""
    return build_model(out_dir, Task.TEXT_CLASSIFICATION, "tiny", labels, seed=seed)
