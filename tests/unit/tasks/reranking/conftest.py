"""A tiny cross-encoder built once for the reranking tests (random weights, the real uncased vocabulary), saved by
sentence-transformers' CrossEncoder itself, and that CrossEncoder as the reference."""

from __future__ import annotations

import pytest

from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tools.demo_reranker import build_reranker


@pytest.fixture(scope="session")
def cross_encoder_dir(tmp_path_factory):
    return build_reranker(tmp_path_factory.mktemp("reranker") / "cross-encoder", size="tiny", seed=7)


@pytest.fixture(scope="session")
def reference(cross_encoder_dir):
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(cross_encoder_dir), device="cpu")


@pytest.fixture(scope="session")
def served(cross_encoder_dir):
    return load_served_model(cross_encoder_dir, Settings(model_dir=cross_encoder_dir, dtype="float32", engine="torch"))
