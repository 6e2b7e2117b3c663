"""Reading a model directory's own JSON files (sentence-transformers' modules.json and configs), as the task layouts
do at load: a file that is wrong stops the start with a message naming it, rather than serving other answers."""

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
