"""The tiny NLI model the zero-shot tests share, and the served model as the loader builds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.base import ServedModel
from tests.support.nli_models import tiny_nli

TASK = "zero-shot-classification"


def served(path: Path) -> ServedModel:
    return load_served_model(path, Settings(model_dir=path, dtype="float32", task=TASK))


@pytest.fixture(scope="session")
def nli(tmp_path_factory) -> Path:
    return tiny_nli(tmp_path_factory.mktemp("tiny-nli"))
