"""Models built once per test session: tiny text classifiers (random weights, the real vocabulary), and a sentiment
classifier trained here on MiniLM (real weights, for explanations that mean something)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_serving.tasks.registry import Task
from hf_serving.tools.demo_models import build_model
from hf_serving.tools.mlm_minilm import train as train_mlm
from hf_serving.tools.model_parts import EMOTION_LABELS, SENTIMENT_LABELS
from hf_serving.tools.ner_minilm import train as train_ner
from hf_serving.tools.sentiment_minilm import train


@pytest.fixture(scope="session")
def tiny_sentiment(tmp_path_factory) -> Path:
    return build_model(
        tmp_path_factory.mktemp("tiny-sentiment"), Task.TEXT_CLASSIFICATION, "tiny", SENTIMENT_LABELS, seed=1
    )


@pytest.fixture(scope="session")
def tiny_emotion(tmp_path_factory) -> Path:
    return build_model(
        tmp_path_factory.mktemp("tiny-emotion"), Task.TEXT_CLASSIFICATION, "tiny", EMOTION_LABELS, seed=2
    )


@pytest.fixture(scope="session")
def tiny_multilabel(tmp_path_factory) -> Path:
    """The emotion labels as a multi-label model: the pipeline then applies sigmoid by default."""
    path = build_model(
        tmp_path_factory.mktemp("tiny-multilabel"), Task.TEXT_CLASSIFICATION, "tiny", EMOTION_LABELS, seed=3
    )
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "problem_type": "multi_label_classification"}))
    return path


@pytest.fixture(scope="session")
def trained_sentiment(tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 fine-tuned on templated opinions (tools/sentiment_minilm.py): ~20 s, once per session."""
    return train(tmp_path_factory.mktemp("trained-sentiment") / "model")


@pytest.fixture(scope="session")
def trained_ner(tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 fine-tuned on templated sentences of people, places and companies (tools/ner_minilm.py):
    about a minute of CPU, once per session."""
    return train_ner(tmp_path_factory.mktemp("trained-ner") / "model")


@pytest.fixture(scope="session")
def trained_mlm(tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 with a masked-LM head fine-tuned on templated facts (tools/mlm_minilm.py): about a minute
    and a half of CPU, once per session."""
    return train_mlm(tmp_path_factory.mktemp("trained-mlm") / "model")
