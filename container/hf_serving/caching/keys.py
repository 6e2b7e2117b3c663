"""What names a cached answer: the model's identity, the normalised item and its parameters, as one digest.

The model's identity is a digest of its files (weights, config, tokenizer), so a retrained model under the same
name or path never meets the answers of the old one, plus what changes its numbers: the task, the engine and the
dtype. The item is the parsed one (tasks/*/requests.py), so `"text"`, `{"inputs": "text"}` and a JSON Lines record
of it share an answer; parameters are the parsed parameters, defaults filled in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

KEY_PREFIX = "hf-serving:answer:v1:"  # one namespace in a shared Redis; v1 changes if the stored format does
_CHUNK = 1 << 20


def model_identity(model_dir: Path, task: str, engine: str, dtype: str) -> str:
    """A digest of every file under model_dir (its code/ too: a user's hooks change answers) and how it runs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(model_dir).as_posix()
        if relative.startswith(".cache/") or "/__pycache__/" in f"/{relative}":
            continue  # the Hub client's download bookkeeping, Python's bytecode: not the model
        digest.update(relative.encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    digest.update(json.dumps([task, engine, dtype]).encode())
    return digest.hexdigest()


def item_key(identity: str, item: object, parameters: object) -> str:
    payload = json.dumps(
        [identity, _plain(item), type(parameters).__name__, _plain(parameters)],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()


def _plain(value: object) -> object:
    """A parsed item or parameters (a string, a frozen dataclass, None) as JSON, its type named."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **dataclasses.asdict(value)}
    return value
