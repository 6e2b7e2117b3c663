"""What a sentence-transformers model directory asks for, read from its JSON files without sentence-transformers.

Only the pipeline this server reproduces is accepted: a Transformer, then a Pooling, then optionally a Normalize
(modules.json). Anything else (a Dense projection, a second Transformer, a Router, a module type unknown here,
another order) is a ConfigurationError at load, naming modules.json and the module: serving such a model with
this pipeline would return vectors sentence-transformers would not, and a user should learn that at start.
Matched against sentence-transformers 6.2.0 (base/model.py _load_config_modules, SentenceTransformer
_load_default_modules, base/modules/transformer.py), which also reads the 2.x-5.x layouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.model_files import read_json

from .pooling import PoolingConfig

MODULES_FILE = "modules.json"
MODEL_CONFIG_FILE = "config_sentence_transformers.json"

# The spellings of each supported class that sentence-transformers 6.2 resolves: 2.x-5.x wrote
# "sentence_transformers.models.X", 6.x writes the defining module's path (Model.save: f"{__module__}.{__name__}").
_MODULE_KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "sentence_transformers.models.Transformer",
            "sentence_transformers.models.Transformer.Transformer",
            "sentence_transformers.base.modules.Transformer",
            "sentence_transformers.base.modules.transformer.Transformer",
            "sentence_transformers.sentence_transformer.modules.Transformer",
        ),
        "Transformer",
    ),
    **dict.fromkeys(
        (
            "sentence_transformers.models.Pooling",
            "sentence_transformers.models.Pooling.Pooling",
            "sentence_transformers.sentence_transformer.modules.Pooling",
            "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
        ),
        "Pooling",
    ),
    **dict.fromkeys(
        (
            "sentence_transformers.models.Normalize",
            "sentence_transformers.models.Normalize.Normalize",
            "sentence_transformers.base.modules.Normalize",
            "sentence_transformers.base.modules.normalize.Normalize",
            "sentence_transformers.sentence_transformer.modules.Normalize",
            "sentence_transformers.sentence_transformer.modules.normalize.Normalize",
        ),
        "Normalize",
    ),
}
_PIPELINE = ("Transformer", "Pooling", "Normalize")  # the order, Normalize optional

# Transformer.load_config tries these in order in the Transformer's directory; the first one found counts.
_TRANSFORMER_CONFIG_FILES = tuple(
    f"sentence_{name}_config.json"
    for name in ("bert", "roberta", "distilbert", "camembert", "albert", "xlm-roberta", "xlnet")
)


def is_sentence_transformers_dir(model_dir: Path) -> bool:
    """A modules.json, except a CrossEncoder's (sentence-transformers 6 writes one for it too): reranking's."""
    return (model_dir / MODULES_FILE).is_file() and _saved_model_type(model_dir) != "CrossEncoder"


def _saved_model_type(model_dir: Path) -> str | None:
    # Missing or unreadable: SentenceTransformerLayout.read names the problem where it matters.
    config = read_json(model_dir / MODEL_CONFIG_FILE, "the sentence-transformers config", missing_ok=True, strict=False)
    return config.get("model_type") if isinstance(config, dict) else None


def transformer_dir(model_dir: Path) -> Path:
    """Where the transformer's weights and tokenizer are: its modules.json path, or model_dir without one.

    Only the Transformer module is looked for: what follows it (a Dense, say) does not matter to a task that
    serves token states; SentenceTransformerLayout.read refuses such a pipeline for sentence embeddings.
    """
    if not is_sentence_transformers_dir(model_dir):
        return model_dir
    modules_path = model_dir / MODULES_FILE
    for module in _read_modules(modules_path):
        if _MODULE_KINDS.get(module["type"]) == "Transformer":
            return _module_dir(modules_path, model_dir, module)
    raise ConfigurationError(f"{modules_path}: lists no Transformer module (sentence_transformers.models.Transformer)")


@dataclass(frozen=True)
class SentenceTransformerLayout:
    """The settings that shape a sentence-transformers model's vectors, beyond the transformer's weights.

    max_seq_length None means the tokenizer's own model_max_length (ST then caps it at the model config's
    max_position_embeddings); 6.x saves it in tokenizer_config.json, not in sentence_bert_config.json.
    truncate_dim is config_sentence_transformers.json's default Matryoshka width, applied by encode() after the
    pipeline (so after Normalize).
    """

    transformer_dir: Path
    pooling: PoolingConfig
    normalize: bool
    max_seq_length: int | None = None
    do_lower_case: bool = False
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    truncate_dim: int | None = None

    @classmethod
    def plain(cls, model_dir: Path) -> SentenceTransformerLayout:
        """A plain encoder without modules.json, as SentenceTransformer builds it: Transformer + Pooling.

        Mean pooling, except last-token pooling for a *ForCausalLM architecture that config.json does not mark
        is_causal false (SentenceTransformer._load_default_modules); no Normalize.
        """
        config = read_json(model_dir / "config.json", "the model config", missing_ok=True) or {}
        architectures = config.get("architectures") if isinstance(config, dict) else None
        causal = (
            isinstance(architectures, list)
            and bool(architectures)
            and isinstance(architectures[0], str)
            and architectures[0].endswith("ForCausalLM")
            and bool(config.get("is_causal", True))
        )
        pooling = PoolingConfig(modes=("lasttoken",)) if causal else PoolingConfig.mean()
        return cls(transformer_dir=model_dir, pooling=pooling, normalize=False)

    @classmethod
    def read(cls, model_dir: Path) -> SentenceTransformerLayout:
        """Read modules.json and the files it points to; ConfigurationError for anything not served faithfully."""
        modules_path = model_dir / MODULES_FILE
        modules = _read_modules(modules_path)
        kinds = [_kind(modules_path, position, module) for position, module in enumerate(modules)]
        _check_pipeline(modules_path, modules, kinds)
        paths = [_module_dir(modules_path, model_dir, module) for module in modules]
        transformer_dir, pooling_dir = paths[0], paths[1]
        if not transformer_dir.is_dir():
            raise ConfigurationError(
                f"{modules_path}: the Transformer's path {modules[0]['path']!r} is not a directory"
            )
        pooling_file = pooling_dir / "config.json"
        if not pooling_file.is_file():
            raise ConfigurationError(
                f"{pooling_file} is missing: {modules_path} lists a Pooling module "
                f"({modules[1]['type']}) at path {modules[1]['path']!r}, and "
                "sentence-transformers cannot build it without that config"
            )
        normalize = len(modules) == 3
        if normalize:
            _check_normalize(paths[2] / "config.json")
        transformer = _transformer_config(transformer_dir)
        model_config = read_json(model_dir / MODEL_CONFIG_FILE, "the sentence-transformers config", missing_ok=True)
        return cls(
            transformer_dir=transformer_dir,
            pooling=PoolingConfig.from_file(pooling_file),
            normalize=normalize,
            **transformer,
            **_model_settings(model_dir / MODEL_CONFIG_FILE, model_config),
        )


def _read_modules(path: Path) -> list[dict[str, Any]]:
    modules = read_json(path, "the module list")
    if not isinstance(modules, list) or not all(isinstance(module, dict) for module in modules):
        raise ConfigurationError(f"{path}: must be a JSON list of module objects")
    for position, module in enumerate(modules):
        if not isinstance(module.get("type"), str) or not isinstance(module.get("path"), str):
            raise ConfigurationError(f"{path}: module {position} needs a string 'type' and 'path', got {module!r}")
    # ST runs the modules in list order and never reads idx; an idx that says otherwise is a file to distrust.
    indices = [module.get("idx", position) for position, module in enumerate(modules)]
    if indices != sorted(indices) or len(set(indices)) != len(indices):
        raise ConfigurationError(f"{path}: the modules' idx values {indices} are not in list order")
    return modules


def _kind(path: Path, position: int, module: dict[str, Any]) -> str:
    kind = _MODULE_KINDS.get(module["type"])
    if kind is None:
        raise ConfigurationError(
            f"{path}: module {position} has type {module['type']!r}, which this server cannot "
            "apply; it serves only Transformer, then Pooling, then an optional Normalize"
        )
    return kind


def _check_pipeline(path: Path, modules: list[dict[str, Any]], kinds: list[str]) -> None:
    for position, kind in enumerate(kinds):
        if position >= len(_PIPELINE) or kind != _PIPELINE[position]:
            expected = _PIPELINE[position] if position < len(_PIPELINE) else "nothing"
            raise ConfigurationError(
                f"{path}: module {position} is a {kind} ({modules[position]['type']}) where "
                f"{expected} was expected; this server serves only Transformer, then Pooling, "
                "then an optional Normalize"
            )
    if len(kinds) < 2:
        missing = _PIPELINE[len(kinds)]
        raise ConfigurationError(
            f"{path}: lists no {missing} module (sentence_transformers.models.{missing}); this "
            "server serves only Transformer, then Pooling, then an optional Normalize"
        )


def _module_dir(path: Path, model_dir: Path, module: dict[str, Any]) -> Path:
    # The check of ST's _validate_relative_path, in Windows syntax (which also splits at "/"): stay inside model_dir.
    windows = PureWindowsPath(module["path"])
    if windows.anchor or ".." in windows.parts or "\0" in module["path"]:
        raise ConfigurationError(f"{path}: module path {module['path']!r} must be relative, inside the model directory")
    return model_dir.joinpath(*PurePosixPath(module["path"]).parts)


def _check_normalize(config_path: Path) -> None:
    # The directory (2_Normalize) is often absent, which ST reads as the default: normalise sentence_embedding.
    config = read_json(config_path, "the Normalize config", missing_ok=True) or {}
    if not isinstance(config, dict):
        raise ConfigurationError(f"{config_path}: the Normalize config must be a JSON object")
    for key in ("module_input_name", "module_output_name"):
        if config.get(key, "sentence_embedding") not in ("sentence_embedding", None):
            raise ConfigurationError(
                f"{config_path}: a Normalize module with {key}={config[key]!r} does not "
                "normalise the sentence embedding; this server cannot serve it"
            )


def _transformer_config(transformer_dir: Path) -> dict[str, Any]:
    path = next(
        (transformer_dir / name for name in _TRANSFORMER_CONFIG_FILES if (transformer_dir / name).is_file()),
        transformer_dir / _TRANSFORMER_CONFIG_FILES[0],
    )
    config = read_json(path, "the Transformer config", missing_ok=True) or {}
    if not isinstance(config, dict):
        raise ConfigurationError(f"{path}: the Transformer config must be a JSON object")
    # Another task (fill-mask, text-generation, ...) turns the Transformer into something else than an encoder.
    task = config.get("transformer_task", "feature-extraction")
    if task != "feature-extraction":
        raise ConfigurationError(f"{path}: transformer_task {task!r} is not served; only feature-extraction is")
    max_seq_length = config.get("max_seq_length")
    if max_seq_length is not None and (
        isinstance(max_seq_length, bool) or not isinstance(max_seq_length, int) or max_seq_length < 1
    ):
        raise ConfigurationError(f"{path}: max_seq_length must be a positive integer or null, not {max_seq_length!r}")
    do_lower_case = config.get("do_lower_case", False)
    if not isinstance(do_lower_case, bool):
        raise ConfigurationError(f"{path}: do_lower_case must be true or false, not {do_lower_case!r}")
    return {"max_seq_length": max_seq_length, "do_lower_case": do_lower_case}


def _model_settings(path: Path, config: Any) -> dict[str, Any]:
    if config is None:  # no config_sentence_transformers.json (written since ST 2.0): no prompts, no truncation
        config = {}
    if not isinstance(config, dict):
        raise ConfigurationError(f"{path}: must be a JSON object")
    model_type = config.get("model_type", "SentenceTransformer")
    if model_type != "SentenceTransformer":
        raise ConfigurationError(f"{path}: model_type {model_type!r} is not a SentenceTransformer")
    prompts = config.get("prompts") or {}
    if not isinstance(prompts, dict) or not all(
        isinstance(k, str) and isinstance(v, str | None) for k, v in prompts.items()
    ):
        raise ConfigurationError(f"{path}: prompts must map prompt names to strings, not {prompts!r}")
    prompts = {name: text or "" for name, text in prompts.items()}  # ST reads a null prompt as ""
    default_prompt_name = config.get("default_prompt_name")
    if default_prompt_name is not None and default_prompt_name not in prompts:
        raise ConfigurationError(
            f"{path}: default_prompt_name {default_prompt_name!r} is not one of the prompts {sorted(prompts)}"
        )
    truncate_dim = config.get("truncate_dim")
    if truncate_dim is not None and (
        isinstance(truncate_dim, bool) or not isinstance(truncate_dim, int) or truncate_dim < 1
    ):
        raise ConfigurationError(f"{path}: truncate_dim must be a positive integer or null, not {truncate_dim!r}")
    return {"prompts": prompts, "default_prompt_name": default_prompt_name, "truncate_dim": truncate_dim}
