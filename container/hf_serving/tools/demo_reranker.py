"""A demo reranker, offline: a DistilBERT with one output and RANDOM weights, saved by sentence-transformers'
CrossEncoder as a reranker on the Hub is (modules.json, config_sentence_transformers.json with its activation).

Its scores are meaningless and its speed is real. The classifier's weights are scaled so that the logits spread over
a few units instead of the initialiser's hundredths: texts then get clearly different scores, which is what a
reranker's answer looks like (and what parity tests need to compare orders). sentence-transformers is a dev and test
dependency, never in the image: the builder runs on the host.

    python -m hf_serving demo-model --task text-ranking --size full -o build/demo-reranker
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hf_serving.loading.source import RANDOM_WEIGHTS_MARKER
from hf_serving.tools.demo_models import SIZES, build_tokenizer

LOGIT_SCALE = 300.0  # the initialiser's std of 0.02 times this: logits of a few units


def build_reranker(out_dir: Path, size: str = "full", seed: int = 0, logit_scale: float = LOGIT_SCALE) -> Path:
    """Write a CrossEncoder directory with random weights; returns out_dir."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    dims = SIZES[size]
    tokenizer = build_tokenizer()
    config = DistilBertConfig(vocab_size=len(tokenizer), max_position_embeddings=512, dim=dims.dim,
                              n_layers=dims.n_layers, n_heads=dims.n_heads, hidden_dim=dims.hidden_dim,
                              pad_token_id=tokenizer.pad_token_id)
    config.num_labels = 1  # one logit per (query, text) pair: CrossEncoder's reranker
    torch.manual_seed(seed)
    model = DistilBertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.mul_(logit_scale)
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as plain:
        model.save_pretrained(plain)
        tokenizer.save_pretrained(plain)
        CrossEncoder(plain, device="cpu").save(str(out_dir))  # its own layout, Sigmoid for one label
    (out_dir / RANDOM_WEIGHTS_MARKER).write_text(json.dumps(
        {"random_weights": True, "task": "text-ranking", "size": size, "seed": seed,
         "note": "built offline by hf_serving.tools.demo_reranker; answers from these weights are meaningless"},
        indent=2) + "\n")
    for path in out_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the image's non-root workers must read it
    return out_dir

