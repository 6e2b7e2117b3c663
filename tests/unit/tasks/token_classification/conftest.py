"""Tiny token classifiers built once per session (random weights, the real uncased vocabulary, the NER labels), and
the transformers pipeline on each: the reference the served answers are compared with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from transformers import pipeline

from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.base import Task
from hf_serving.tools.demo_models import build_model
from hf_serving.tools.model_parts import NER_LABELS

# A window of this many tokens makes a sentence or two a long text: the windows are exercised on short inputs.
SHORT_WINDOW = 24


@pytest.fixture(scope="session")
def tiny_ner(tmp_path_factory) -> Path:
    return build_model(tmp_path_factory.mktemp("tiny-ner"), Task.TOKEN_CLASSIFICATION, "tiny", NER_LABELS, seed=5)


@pytest.fixture(scope="session")
def short_window_ner(tmp_path_factory, tiny_ner) -> Path:
    """The same weights, with a tokenizer whose maximum is SHORT_WINDOW tokens (the pipeline's window too)."""
    path = tmp_path_factory.mktemp("short-window-ner") / "model"
    shutil.copytree(tiny_ner, path)
    config = json.loads((path / "tokenizer_config.json").read_text())
    (path / "tokenizer_config.json").write_text(json.dumps({**config, "model_max_length": SHORT_WINDOW}))
    return path


@pytest.fixture(scope="session")
def served(tiny_ner):
    return load_served_model(tiny_ner, Settings(model_dir=tiny_ner, dtype="float32"))


@pytest.fixture(scope="session")
def reference(tiny_ner):
    return pipeline("token-classification", model=str(tiny_ner), device="cpu")


@pytest.fixture(scope="session")
def served_short(short_window_ner):
    return load_served_model(short_window_ner, Settings(model_dir=short_window_ner, dtype="float32"))


@pytest.fixture(scope="session")
def reference_short(short_window_ner):
    return pipeline("token-classification", model=str(short_window_ner), device="cpu")
