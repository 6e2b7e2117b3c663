"""The demo models under build/ (`make demo-models`) loaded in-process as a worker loads them, and what a request's
items predicted as the handler takes it for monitoring (tasks/base.py Counted.outcomes)."""

from __future__ import annotations

from pathlib import Path

from hf_serving.loading.loader import load_served_model
from hf_serving.monitoring.outcomes import ItemOutcome
from hf_serving.settings import Settings
from hf_serving.tasks.base import ServedModel
from tests.support.missing import skip_or_fail
from tests.support.paths import ROOT

BUILD = ROOT / "build"


def demo_dir(name: str) -> Path:
    """build/<name>, or the test skipped saying how to build it (a failure in CI, which builds them)."""
    path = BUILD / name
    if not (path / "config.json").is_file():
        skip_or_fail(f"{path} is not built: make demo-models")
    return path


def demo_model(name: str, task: str | None = None) -> ServedModel:
    path = demo_dir(name)
    return load_served_model(path, Settings(model_dir=path, dtype="float32", task=task))


def answered(model: ServedModel, payload: object) -> tuple[object, list[ItemOutcome]]:
    """The answer to one request, and its items' outcomes."""
    answer = model.predict(payload)
    usage = model.take_usage()
    assert usage is not None
    return answer, usage.outcomes


def token_count(model: ServedModel, text: str, pair: str | None = None) -> int:
    """The tokens the model's tokenizer gives a text (or a pair), special tokens included."""
    return len(model.tokenizer(text, pair, truncation=True)["input_ids"])  # type: ignore[attr-defined]
