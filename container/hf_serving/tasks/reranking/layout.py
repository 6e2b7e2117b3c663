"""What a cross-encoder directory asks for, read from its JSON files without sentence-transformers.

sentence-transformers 6.2's CrossEncoder.save writes the transformers model at the directory's root, a modules.json
of that one Transformer module (transformer_task "sequence-classification" in sentence_bert_config.json), and
config_sentence_transformers.json with model_type "CrossEncoder" and the activation's class path. Versions 4 and 5
kept the activation in config.json's "sentence_transformers" block, versions before 4 in config.json's
"sbert_ce_default_activation_function"; their directories have no modules.json. All three are read here, in the
order CrossEncoder 6.2 reads them (cross_encoder/model.py _parse_model_config, then get_default_activation_fn).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.model_files import read_json

log = logging.getLogger(__name__)

MODULES_FILE = "modules.json"
MODEL_CONFIG_FILE = "config_sentence_transformers.json"
TRANSFORMER_CONFIG_FILE = "sentence_bert_config.json"
# What each activation's class is called at the end of its path ("torch.nn.modules.activation.Sigmoid"), and the
# name the scorer applies it by.
ACTIVATIONS = {"Sigmoid": "sigmoid", "Identity": "identity", "Tanh": "tanh"}


def is_cross_encoder_dir(model_dir: Path) -> bool:
    """A directory sentence-transformers saved from a CrossEncoder with one output, the reranker's kind; one with
    several labels (an NLI cross-encoder) is a pair classifier, which text-classification serves."""
    config = read_json(model_dir / "config.json", "the model config", missing_ok=True, strict=False)
    if not isinstance(config, dict) or number_of_labels(config) != 1:
        return False
    model_config = read_json(
        model_dir / MODEL_CONFIG_FILE, "the sentence-transformers config", missing_ok=True, strict=False
    )
    saved_by_6 = isinstance(model_config, dict) and model_config.get("model_type") == "CrossEncoder"
    saved_before_6 = (
        isinstance(config.get("sentence_transformers"), dict) or "sbert_ce_default_activation_function" in config
    )
    return saved_by_6 or saved_before_6


def not_a_reranker(config: dict[str, Any]) -> str | None:
    """Why a config.json is no reranker's: a reranker has one output (sentence-transformers writes a card tagged
    text-ranking for an NLI cross-encoder of three labels too)."""
    labels = number_of_labels(config)
    return None if labels == 1 else f"a reranker has one output, this model {labels} labels (a pair classifier)"


def number_of_labels(config: dict[str, Any]) -> int:
    """As transformers' PretrainedConfig counts them: num_labels, else id2label's size, else its default of 2."""
    if isinstance(config.get("num_labels"), int):
        return int(config["num_labels"])
    id2label = config.get("id2label")
    return len(id2label) if isinstance(id2label, dict) and id2label else 2


@dataclass(frozen=True)
class CrossEncoderLayout:
    """What shapes a cross-encoder's scores beyond its weights: the activation predict() applies to the logit, the
    default prompt put in front of the query, lower-casing, and a max_seq_length that replaces the tokenizer's."""

    activation: str = "sigmoid"  # one of ACTIVATIONS' values
    query_prompt: str = ""
    do_lower_case: bool = False
    max_seq_length: int | None = None

    @classmethod
    def read(cls, model_dir: Path) -> CrossEncoderLayout:
        """Any directory with a one-output sequence classifier: a CrossEncoder's, or a plain one named by HF_TASK."""
        config_path = model_dir / "config.json"
        config = read_json(config_path, "the model config")
        if not isinstance(config, dict):
            raise ConfigurationError(f"{config_path}: must be a JSON object")
        labels = number_of_labels(config)
        if labels != 1:
            raise ConfigurationError(
                f"{config_path}: reranking scores each (query, text) pair with one output, and "
                f"this model has {labels} labels; serve it as text-classification instead"
            )
        model_config = read_json(model_dir / MODEL_CONFIG_FILE, "the sentence-transformers config", missing_ok=True)
        if model_config is not None and not isinstance(model_config, dict):
            raise ConfigurationError(f"{model_dir / MODEL_CONFIG_FILE}: must be a JSON object")
        transformer = _check_modules(model_dir)
        return cls(
            activation=_activation(model_dir, config, model_config or {}),
            query_prompt=_default_prompt(model_dir / MODEL_CONFIG_FILE, model_config or {}),
            **transformer,
        )


def _check_modules(model_dir: Path) -> dict[str, Any]:
    """A modules.json, where there is one, must list only the Transformer at the root, as CrossEncoder saves it; a
    LogitScore (a causal reranker) or a Dense after it would change the scores in ways this server does not apply."""
    path = model_dir / MODULES_FILE
    modules = read_json(path, "the module list", missing_ok=True)
    if modules is None:
        return {}
    transformer = (
        isinstance(modules, list)
        and len(modules) == 1
        and isinstance(modules[0], dict)
        and str(modules[0].get("type", "")).startswith("sentence_transformers.")
        and str(modules[0].get("type", "")).endswith(".Transformer")
        and modules[0].get("path") in ("", ".")
    )
    if not transformer:
        raise ConfigurationError(
            f"{path}: a cross-encoder served here is one Transformer module at the directory's "
            f"root, as CrossEncoder.save writes it; this one lists {modules!r}"
        )
    settings_path = model_dir / TRANSFORMER_CONFIG_FILE
    settings = read_json(settings_path, "the Transformer config", missing_ok=True) or {}
    if not isinstance(settings, dict):
        raise ConfigurationError(f"{settings_path}: must be a JSON object")
    task = settings.get("transformer_task", "sequence-classification")
    if task != "sequence-classification":
        raise ConfigurationError(
            f"{settings_path}: transformer_task {task!r} is not served for reranking; only sequence-classification is"
        )
    max_seq_length = settings.get("max_seq_length")
    if max_seq_length is not None and (
        isinstance(max_seq_length, bool) or not isinstance(max_seq_length, int) or max_seq_length < 1
    ):
        raise ConfigurationError(
            f"{settings_path}: max_seq_length must be a positive integer or null, not {max_seq_length!r}"
        )
    do_lower_case = settings.get("do_lower_case", False)
    if not isinstance(do_lower_case, bool):
        raise ConfigurationError(f"{settings_path}: do_lower_case must be true or false, not {do_lower_case!r}")
    return {"max_seq_length": max_seq_length, "do_lower_case": do_lower_case}


def _activation(model_dir: Path, config: dict[str, Any], model_config: dict[str, Any]) -> str:
    """The first activation CrossEncoder 6.2 would use: config_sentence_transformers.json's, config.json's
    "sentence_transformers" block's, config.json's pre-4 key, else Sigmoid (one label)."""
    block = config.get("sentence_transformers")
    found = [
        (model_dir / MODEL_CONFIG_FILE, model_config.get("activation_fn")),
        (model_dir / "config.json", block.get("activation_fn") if isinstance(block, dict) else None),
        (model_dir / "config.json", config.get("sbert_ce_default_activation_function")),
    ]
    for path, class_path in found:
        if class_path is None:
            continue
        if not isinstance(class_path, str):
            raise ConfigurationError(f"{path}: the activation function must be a class path, not {class_path!r}")
        if not class_path.startswith("torch."):
            # CrossEncoder imports such a path only with trust_remote_code, and otherwise falls back as here.
            log.warning("%s: activation %s is not torch's; using the next one CrossEncoder would use", path, class_path)
            continue
        name = class_path.rsplit(".", 1)[-1]
        if name not in ACTIVATIONS:
            raise ConfigurationError(
                f"{path}: activation {class_path} is not one this server applies ({', '.join(ACTIVATIONS)})"
            )
        return ACTIVATIONS[name]
    return "sigmoid"


def _default_prompt(path: Path, model_config: dict[str, Any]) -> str:
    """The default prompt's text, which CrossEncoder.predict puts in front of each pair's first text (the query)."""
    name = model_config.get("default_prompt_name")
    if name is None:
        return ""
    prompts = model_config.get("prompts") or {}
    if not isinstance(prompts, dict) or name not in prompts or not isinstance(prompts[name], str | None):
        raise ConfigurationError(
            f"{path}: default_prompt_name {name!r} is not one of the prompts "
            f"{sorted(prompts) if isinstance(prompts, dict) else prompts!r}"
        )
    return prompts[name] or ""
