"""Reading a model directory's own JSON files (sentence-transformers' modules.json and configs, tokenizer.json), as
the task layouts do at load: a file that is wrong stops the start with a message naming it, rather than serving other
answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hf_serving.errors import ConfigurationError


def read_json(path: Path, what: str, *, missing_ok: bool = False, strict: bool = True) -> Any:
    """The file's JSON; None when it is missing (missing_ok) or unreadable and not strict (a detection probe, which
    must not fail the start of a directory that belongs to another task)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ConfigurationError(f"{path}: {what} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if not strict:
            return None
        raise ConfigurationError(f"{path}: cannot read {what}: {exc}") from exc


def tokenizer_vocabulary(tokenizer_dir: Path) -> int | None:
    """The fast tokenizer's len(), from tokenizer.json (its vocabulary and added tokens), without loading it: the
    token ids a protocol takes are 0 to this - 1 (protocols/token_ids.py). None without a readable tokenizer.json."""
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
