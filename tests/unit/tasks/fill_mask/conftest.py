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


@pytest.fixture(scope="package")
def roberta_dir(tmp_path_factory):
    """Another family: a tiny random RobertaForMaskedLM with a byte-level BPE trained here on a few sentences (its
    mask token is <mask>, its padding id 1, its positions offset by 2) and a 64-token maximum."""
    import json

    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizerFast

    corpus = [
        "The cat sat on the mat.",
        "Paris is the capital of France.",
        "I drink coffee every morning.",
        "Café 漢字 🙂 naïve words",
    ] * 20
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        corpus, vocab_size=400, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    files = tmp_path_factory.mktemp("bpe")
    bpe.save_model(str(files))
    merges = [tuple(line.split()) for line in (files / "merges.txt").read_text().splitlines()[1:] if line]
    tokenizer = RobertaTokenizerFast(
        vocab=json.loads((files / "vocab.json").read_text()), merges=merges, model_max_length=64
    )
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(11)
    out = tmp_path_factory.mktemp("tiny-roberta-fill-mask")
    RobertaForMaskedLM(config).eval().save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
