"""A demo reranker, offline: a DistilBERT with one output and RANDOM weights, saved by sentence-transformers'
CrossEncoder as a reranker on the Hub is (modules.json, config_sentence_transformers.json with its activation).

Its scores are meaningless and its speed is real. The classifier is rescaled so that the logits of a few sample pairs
spread with a standard deviation of LOGIT_SPREAD around 0, instead of the initialiser's hundredths: texts then get
clearly different scores between 0 and 1, which is what a reranker's answer looks like (and what parity tests need
to compare orders). sentence-transformers is a dev and test
dependency, never in the image: the builder runs on the host.

    python -m hf_serving demo-model --task text-ranking --size full -o build/demo-reranker
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hf_serving.loading.source import RANDOM_WEIGHTS_MARKER
from hf_serving.tools.model_parts import SIZES, build_tokenizer

LOGIT_SPREAD = 2.0
_SAMPLE_QUERIES = ("What is deep learning?", "Where is Paris?", "How is cheese made?")
_SAMPLE_TEXTS = (
    "Deep learning is a subset of machine learning.",
    "Paris is the capital of France.",
    "Cheese is made from milk.",
    "The train leaves at noon.",
)


# At the default initialiser range (0.02) the tiny model's logit hardly depends on its input (a standard deviation
# of 1e-5 across pairs): rescaled to LOGIT_SPREAD it would amplify float32 rounding into the scores. At 0.2 its logit
# spreads by itself (0.16) and rounding stays near 1e-7, so tests can compare scores at 1e-5.
_INITIALIZER_RANGE = {"tiny": 0.2}


def build_reranker(out_dir: Path, size: str = "full", seed: int = 0) -> Path:
    """Write a CrossEncoder directory with random weights; returns out_dir."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    dims = SIZES[size]
    tokenizer = build_tokenizer()
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        dim=dims.dim,
        n_layers=dims.n_layers,
        n_heads=dims.n_heads,
        hidden_dim=dims.hidden_dim,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=_INITIALIZER_RANGE.get(size, 0.02),
    )
    config.num_labels = 1  # one logit per (query, text) pair: CrossEncoder's reranker
    torch.manual_seed(seed)
    model = DistilBertForSequenceClassification(config)
    model.eval()
    pairs = [(query, text) for query in _SAMPLE_QUERIES for text in _SAMPLE_TEXTS]
    with torch.no_grad():
        logits = model(
            **tokenizer([q for q, _ in pairs], [t for _, t in pairs], padding=True, return_tensors="pt")
        ).logits[:, 0]
        scale = LOGIT_SPREAD / float(logits.std())
        model.classifier.weight.mul_(scale)
        model.classifier.bias.copy_((model.classifier.bias - logits.mean()) * scale)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as plain:
        model.save_pretrained(plain)
        tokenizer.save_pretrained(plain)
        CrossEncoder(plain, device="cpu").save(str(out_dir))  # its own layout, Sigmoid for one label
    (out_dir / RANDOM_WEIGHTS_MARKER).write_text(
        json.dumps(
            {
                "random_weights": True,
                "task": "text-ranking",
                "size": size,
                "seed": seed,
                "note": "built offline by hf_serving.tools.demo_reranker; answers from these weights are meaningless",
            },
            indent=2,
        )
        + "\n"
    )
    for path in out_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the image's non-root workers must read it
    return out_dir
