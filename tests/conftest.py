"""Models the tests share: tiny text classifiers (random weights, the real vocabulary), built once per session; and
MiniLM fine-tuned here (a sentiment classifier, a NER tagger, a masked LM: real weights, for answers and explanations
that mean something), trained once into build/test-models/ and reused by later sessions until their trainer, seed or
packages change (tests/support/built_once.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hf_serving.tasks.registry import Task
from hf_serving.tools import mlm_minilm, model_parts, ner_minilm, sentiment_minilm
from hf_serving.tools.demo_models import build_model
from hf_serving.tools.model_parts import EMOTION_LABELS, SENTIMENT_LABELS
from tests.support.built_once import built_once


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
def trained_sentiment() -> Path:
    """all-MiniLM-L6-v2 fine-tuned on templated opinions (tools/sentiment_minilm.py): ~20 s when trained."""
    return built_once("sentiment-minilm", sentiment_minilm.train, [sentiment_minilm, model_parts], seed=0)


@pytest.fixture(scope="session")
def trained_ner() -> Path:
    """all-MiniLM-L6-v2 fine-tuned on templated sentences of people, places and companies (tools/ner_minilm.py):
    about a minute of CPU when trained."""
    return built_once("ner-minilm", ner_minilm.train, [ner_minilm, model_parts], seed=0)


@pytest.fixture(scope="session")
def trained_mlm() -> Path:
    """all-MiniLM-L6-v2 with a masked-LM head fine-tuned on templated facts (tools/mlm_minilm.py): about a minute
    and a half of CPU when trained."""
    return built_once("mlm-minilm", mlm_minilm.train, [mlm_minilm, model_parts], seed=0)
