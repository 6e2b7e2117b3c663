"""The tasks this container serves, and how a model directory's config.json names its task."""

from __future__ import annotations

import enum
import json
from pathlib import Path

from hf_serving.errors import ConfigurationError


class Task(enum.Enum):
    QUESTION_ANSWERING = "question-answering"
    TEXT_CLASSIFICATION = "text-classification"


# HF_TASK spellings users bring from the Hugging Face toolkit and pipelines.
_TASK_ALIASES = {
    "question-answering": Task.QUESTION_ANSWERING,
    "text-classification": Task.TEXT_CLASSIFICATION,
    "sentiment-analysis": Task.TEXT_CLASSIFICATION,
}

_ARCHITECTURE_SUFFIXES = {
    "ForQuestionAnswering": Task.QUESTION_ANSWERING,
    "ForSequenceClassification": Task.TEXT_CLASSIFICATION,
}


def read_config(model_dir: Path) -> dict:
    path = model_dir / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"{path} does not exist: the model directory has no config.json") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is not readable JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigurationError(f"{path} does not hold a JSON object")
    return config


def detect_task(config: dict, forced: str | None) -> Task:
    """HF_TASK when set, else the task implied by config.json's architectures."""
    if forced is not None:
        task = _TASK_ALIASES.get(forced.strip().lower())
        if task is None:
            raise ConfigurationError(
                f"HF_TASK={forced!r} is not supported: use one of {', '.join(sorted(_TASK_ALIASES))}")
        return task
    architectures = config.get("architectures") or []
    for architecture in architectures:
        for suffix, task in _ARCHITECTURE_SUFFIXES.items():
            if isinstance(architecture, str) and architecture.endswith(suffix):
                return task
    raise ConfigurationError(
        f"cannot tell the task from config.json architectures {architectures!r}: this container serves "
        f"...ForQuestionAnswering and ...ForSequenceClassification models; set HF_TASK to force one")
