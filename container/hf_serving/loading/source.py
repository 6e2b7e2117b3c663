"""Where the model's files are: the SageMaker model directory, or a snapshot from the Hugging Face Hub."""

from __future__ import annotations

import logging
from pathlib import Path

from hf_serving.errors import ConfigurationError
from hf_serving.settings import Settings

log = logging.getLogger(__name__)

# Written by `make demo-model` (hf_serving.tools.demo_models): the weights in that directory are random.
RANDOM_WEIGHTS_MARKER = "RANDOM_WEIGHTS"
# README.md: the model card, whose pipeline_tag may name the task (tasks/model_card.py).
HUB_ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "code/*", "README.md"]


def has_model_files(model_dir: Path) -> bool:
    return (model_dir / "config.json").is_file()


def resolve_model_dir(settings: Settings) -> Path:
    """The directory holding config.json, weights and tokenizer; downloads from the Hub if needed."""
    if has_model_files(settings.model_dir):
        return settings.model_dir.resolve()
    if settings.model_id:
        return download_from_hub(settings)
    raise ConfigurationError(
        f"no model to serve: put the model files (config.json, weights, tokenizer) in HF_MODEL_DIR "
        f"(now {settings.model_dir}), or set HF_MODEL_ID to a Hugging Face Hub model id"
    )


def download_from_hub(settings: Settings) -> Path:
    from huggingface_hub import snapshot_download  # imported here: only Hub deployments need it

    assert settings.model_id is not None
    log.info(
        "downloading %s (revision %s) from the Hugging Face Hub", settings.model_id, settings.model_revision or "main"
    )
    try:
        path = snapshot_download(
            repo_id=settings.model_id,
            revision=settings.model_revision,
            token=settings.hub_token,
            allow_patterns=HUB_ALLOW_PATTERNS,
        )
    except Exception as exc:  # noqa: BLE001 - any failure here is fatal and must name its cause
        raise ConfigurationError(
            f"cannot download HF_MODEL_ID={settings.model_id!r} from the Hub: {type(exc).__name__}: {exc}"
        ) from None
    return Path(path)


def has_random_weights(model_dir: Path) -> bool:
    return (model_dir / RANDOM_WEIGHTS_MARKER).exists()
