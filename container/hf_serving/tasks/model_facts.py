"""What the served OpenAPI description says of the model beyond its task (api_docs/spec.py), read from the model's
files at start, without loading it:
- the names of its prompts (config_sentence_transformers.json), the only values `prompt_name` takes (any other is
  the embedder's 400);
- its tokenizer's vocabulary size (tokenizer.json's vocabulary and added tokens: the fast tokenizer's len()), which
  bounds the token ids the protocols take (protocols/token_ids.py and TEI's /decode refuse an id outside it);
- its vectors' width (the Pooling module's), the most `dimensions` may ask (a larger one is a 400).
None where the files do not say, or say it wrongly: the description then stays general, and the worker's load names
the problem.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.base import ModelFacts, TaskSpec
from hf_serving.tasks.model_files import read_json


def read_model_facts(spec: TaskSpec, model_dir: Path) -> ModelFacts:
    try:
        facts = spec.layout_facts(model_dir) if spec.layout_facts is not None else ModelFacts()
        return replace(facts, vocabulary=_vocabulary(spec.weights_dir(model_dir)))
    except ConfigurationError:
        return ModelFacts()


def _vocabulary(tokenizer_dir: Path) -> int | None:
    document = read_json(tokenizer_dir / "tokenizer.json", "the tokenizer", missing_ok=True, strict=False)
    if not isinstance(document, dict) or not isinstance(document.get("model"), dict):
        return None
    vocab = document["model"].get("vocab")
    if isinstance(vocab, dict):  # WordPiece, BPE, WordLevel: token -> id
        ids = {value for value in vocab.values() if isinstance(value, int)}
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...], ids by position
        ids = set(range(len(vocab)))
    else:
        return None
    added = document.get("added_tokens") or []
    ids |= {token["id"] for token in added if isinstance(token, dict) and isinstance(token.get("id"), int)}
    return len(ids) or None
