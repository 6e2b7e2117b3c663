"""How fill-mask reads its logits: [1, masks, vocabulary] from the served model's engines, torch and OpenVINO, whose
head runs on the masks alone (engines/masked_lm.py); [rows, tokens, vocabulary] from a model left whole, to the same
answers."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import AutoModelForMaskedLM

from hf_serving.engines.openvino import runtime as openvino_runtime
from hf_serving.engines.torch_engine import TorchEngine
from hf_serving.loading.loader import load_served_model
from hf_serving.settings import Settings
from hf_serving.tasks.fill_mask.filler import MaskFiller
from tests.unit.tasks.fill_mask.test_filler import assert_same

TEXTS = [
    "a [MASK]",
    "[MASK] sat on the [MASK] by the [MASK] in the afternoon sun",
    "Paris is the [MASK] of France, and the longest text of the three by far, so the others are padded.",
]


def feed_np(tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    encoded = tokenizer(texts, padding=True, return_tensors="np")
    return {name: encoded[name].astype(np.int64) for name in ("input_ids", "attention_mask")}


def test_the_filler_answers_the_same_from_the_whole_logits(model, model_dir):
    """Where the swap is left out the task reads [rows, tokens, vocabulary] as before, to the same answers."""
    whole = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    engine = TorchEngine(whole, ["input_ids", "attention_mask"], ["logits"], "float32", "cpu")
    filler = MaskFiller(engine, model.tokenizer, model.config)
    assert not filler.head_on_masks and model.filler.head_on_masks
    texts = [*TEXTS, "[MASK] [MASK]"]
    from_whole = [filled.result for filled in filler(texts, top_k=4)]
    assert_same(from_whole, [filled.result for filled in model.filler(texts, top_k=4)])
    assert engine.run(feed_np(model.tokenizer, texts))["logits"].shape[:2] == (4, 25)


def test_whole_logits_cap_a_pass_by_its_padded_tokens_and_a_longer_text_goes_alone(model, model_dir, monkeypatch):
    whole = AutoModelForMaskedLM.from_pretrained(model_dir).eval()
    engine = TorchEngine(whole, ["input_ids", "attention_mask"], ["logits"], "float32", "cpu")
    filler = MaskFiller(engine, model.tokenizer, model.config)
    shapes = []
    run = engine.run
    monkeypatch.setattr(engine, "run", lambda feed: shapes.append(feed["input_ids"].shape) or run(feed))
    monkeypatch.setattr(filler, "max_logit_rows", 24)
    texts = ["a [MASK]", "the [MASK] b", "one two three four five six seven eight nine ten [MASK] eleven twelve"] * 3
    answers = [filled.result for filled in filler(texts, top_k=5)]
    # 4, 4, 4, 5 | 5, 5 | 15 | 15 | 15 tokens, shortest first: a fifth row of 5 would pad to 25
    assert shapes == [(4, 5), (2, 5), (1, 15), (1, 15), (1, 15)]
    monkeypatch.setattr(filler, "max_logit_rows", 10_000)
    assert_same(answers, [filled.result for filled in filler(texts, top_k=5)])


@pytest.mark.parametrize(
    ("dtype", "engine"),
    [
        ("float32", "torch"),
        pytest.param(
            "bfloat16",
            "openvino",
            marks=pytest.mark.skipif(not openvino_runtime.available(), reason="openvino is in requirements.txt"),
        ),
    ],
)
def test_the_served_models_engine_answers_the_masks_rows_alone(model_dir, dtype, engine):
    served = load_served_model(model_dir, Settings(model_dir=model_dir, dtype=dtype, engine=engine))
    feed = feed_np(served.tokenizer, TEXTS)
    logits = served.engine.run({name: feed[name] for name in served.engine.input_names})["logits"]
    assert logits.shape == (1, 5, len(served.tokenizer))
