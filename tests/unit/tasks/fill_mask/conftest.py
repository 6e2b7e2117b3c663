"""A tiny random DistilBertForMaskedLM with the real uncased vocabulary, built once for these tests, and
transformers' fill-mask pipeline on it (the reference)."""

from __future__ import annotations

import pytest
from transformers import pipeline

from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.base import Task
from hf_serving.tools.demo_models import build_model


@pytest.fixture(scope="package")
def model_dir(tmp_path_factory):
    return build_model(tmp_path_factory.mktemp("tiny-fill-mask"), Task.FILL_MASK, "tiny", seed=5)


@pytest.fixture(scope="package")
def model(model_dir):
    return load_served_model(model_dir, Settings(model_dir=model_dir, dtype="float32"))


@pytest.fixture(scope="package")
def reference(model_dir):
    return pipeline("fill-mask", model=str(model_dir), device="cpu")
