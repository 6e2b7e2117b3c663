"""A demo NLI model for zero-shot classification, offline: DistilBERT with random weights and MNLI's three labels.

The zero-shot task needs a ...ForSequenceClassification whose labels name "entailment"; its answers from random
weights mean nothing, its speed is real (demo_models.py says why the Hub is out of reach). Tests build the tiny size
with a wider initializer_range: the default 0.02 leaves a tiny random encoder's output almost the same whatever the
hypothesis, so every label would score 1/n and a parity test could not tell a right order from a wrong one.

    python -m hf_serving demo-model --task zero-shot-classification --size full -o build/demo-nli
"""

from __future__ import annotations

import json
from pathlib import Path

from hf_serving.loading.source import RANDOM_WEIGHTS_MARKER
from hf_serving.tasks.base import Task
from hf_serving.tools.model_parts import SIZES, build_tokenizer

NLI_LABELS = ("contradiction", "neutral", "entailment")  # MNLI's order, as most NLI models name them


def build_nli(
    out_dir: Path,
    size: str = "full",
    labels: tuple[str, ...] = NLI_LABELS,
    seed: int = 0,
    initializer_range: float = 0.02,
    model_card: bool = False,
) -> Path:
    """Write a loadable DistilBertForSequenceClassification with these labels; returns out_dir. With model_card, a
    README.md whose front matter says `pipeline_tag: zero-shot-classification`, as NLI models' cards on the Hub do:
    the container then serves it as zero-shot classification with no HF_TASK (tasks/model_card.py)."""
    import torch
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
        initializer_range=initializer_range,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    torch.manual_seed(seed)
    model = DistilBertForSequenceClassification(config).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / RANDOM_WEIGHTS_MARKER).write_text(
        json.dumps(
            {
                "random_weights": True,
                "task": Task.ZERO_SHOT_CLASSIFICATION.value,
                "size": size,
                "seed": seed,
                "note": "built offline by hf_serving.tools.demo_nli; answers from these weights are meaningless",
            },
            indent=2,
        )
        + "\n"
    )
    if model_card:
        (out_dir / "README.md").write_text(
            "---\npipeline_tag: zero-shot-classification\nlicense: apache-2.0\n---\n\n"
            "# A demo NLI model with RANDOM weights (hf_serving.tools.demo_nli)\n"
        )
    for path in out_dir.iterdir():
        if path.is_file():  # safetensors writes 0600; the image's non-root workers must read it
            path.chmod(0o644)
    return out_dir
