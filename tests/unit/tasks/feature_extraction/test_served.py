"""HF_TASK=feature-extraction: the transformers pipeline's per-token hidden states, unpadded, truncated not failed."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import pipeline

from hf_serving.errors import BadRequest, ResponseTooLarge
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.base import Task
from tests.support.paths import minilm

TEXTS = ["A man is eating food.", "hi", "Ein Mann isst Brot, naïve café."]


@pytest.fixture(scope="module")
def model():
    return load_served_model(
        minilm(), Settings(model_dir=minilm(), dtype="float32", engine="torch", task="feature-extraction")
    )


def test_per_token_states_equal_the_pipelines_one_text_and_a_padded_batch(model):
    assert model.task is Task.FEATURE_EXTRACTION
    reference = pipeline("feature-extraction", model=str(minilm()), device="cpu")
    batch = model.predict({"inputs": TEXTS})
    for text, mine in zip(TEXTS, batch, strict=True):
        expected = np.array(reference(text))  # [1][tokens][384]
        assert np.array(mine).shape == expected.shape
        np.testing.assert_allclose(np.array(mine), expected, atol=1e-4)
    alone = model.predict({"inputs": TEXTS[1]})
    np.testing.assert_allclose(np.array(alone), np.array(batch[1]), atol=1e-5)


def test_an_over_long_text_is_truncated_to_the_model_maximum(model):
    states = model.predict("word " * 1000)
    assert np.array(states).shape == (1, 512, 384)


def test_it_takes_no_parameters(model):
    with pytest.raises(BadRequest, match="takes no parameters"):
        model.predict({"inputs": "x", "parameters": {"normalize": True}})


def test_texts_whose_first_tokens_alone_are_over_the_answer_limit_are_a_413_before_any_model_pass(model, monkeypatch):
    monkeypatch.setattr(model, "answer", lambda items, parameters: pytest.fail("the model ran"))
    with pytest.raises(ResponseTooLarge, match="SERVE_MAX_RESPONSE_MB"):
        model.predict({"inputs": ["x"] * (16 * 1024 * 1024 // (384 * 4) + 1)})


def test_texts_whose_tokens_are_over_the_answer_limit_are_a_413_after_tokenising_before_the_model_pass(
    model, monkeypatch
):
    """2,000 texts of ~130 tokens: one token a text fits the limit, their states (~100 million numbers) do not."""
    monkeypatch.setattr(model.engine, "run", lambda *args, **kwargs: pytest.fail("the model ran"))
    with pytest.raises(ResponseTooLarge, match="the answer holds the hidden states of at least") as refused:
        model.predict({"inputs": ["word " * 128] * 2000})
    assert "SERVE_MAX_RESPONSE_MB" in refused.value.message
