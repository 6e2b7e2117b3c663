"""Sentence-transformers' Pooling and Normalize, in numpy, on the token embeddings the engine returns.

numpy because the task code does not import torch: the engines (torch, OpenVINO) hand back numpy arrays, and
pooling a [batch, seq, hidden] array is a few vectorised reductions. What this matches, and was tested against,
is sentence-transformers 6.2.0 (sentence_transformer/modules/pooling.py, Pooling._forward_padded, and
base/modules/normalize.py), on float32 inputs:

- the modes and their maths, padding included: a pad (mask 0) never counts; `cls` is the first unmasked token,
  `lasttoken` the last one (so both work on right- and left-padded rows), `weightedmean` weighs token i by
  i + 1 - (index of the row's first unmasked token), every denominator is clamped at 1e-9, `max` of a row with
  no unmasked token is -inf, `cls` and `lasttoken` of such a row are token 0 and zeros;
- several modes are concatenated in the order of `pooling_mode` (6.x configs), or for the legacy
  `pooling_mode_*` booleans in ST's fixed order: cls, max, mean, mean_sqrt_len_tokens, weightedmean, lasttoken
  (max before mean, as Pooling.forward has always done);
- Normalize is torch.nn.functional.normalize(p=2, dim=-1, eps=1e-12).

Not supported (ConfigurationError at load): include_prompt false, which needs the prompt's token count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from hf_serving.errors import ConfigurationError

PoolingMode = Literal["cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]
POOLING_MODES: tuple[PoolingMode, ...] = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

# The legacy boolean keys, in the order ST concatenates the modes they enable (its _LEGACY_POOLING_MODE_KWARGS).
LEGACY_MODE_KEYS: dict[str, PoolingMode] = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
# Every key ST's Pooling accepts; it passes the config to Pooling(**config), so any other key fails its load too.
_KNOWN_KEYS = {"word_embedding_dimension", "embedding_dimension", "pooling_mode", "include_prompt", *LEGACY_MODE_KEYS}

# ST clamps every pooling denominator (token count, weight sum) at this, so an all-pad row gives zeros, not NaN.
_MIN_DENOMINATOR = np.float32(1e-9)
_NORMALIZE_EPS = np.float32(1e-12)  # torch.nn.functional.normalize's default eps


@dataclass(frozen=True)
class PoolingConfig:
    """One Pooling module's settings: the modes in concatenation order (a mode may repeat, as ST allows)."""

    modes: tuple[PoolingMode, ...]
    word_embedding_dimension: int | None = None
    include_prompt: bool = True

    def __post_init__(self) -> None:
        if not self.modes:
            raise ValueError("a PoolingConfig needs at least one pooling mode")
        unknown = [mode for mode in self.modes if mode not in POOLING_MODES]
        if unknown:
            raise ValueError(f"unknown pooling mode(s) {unknown}; known: {list(POOLING_MODES)}")
        if not self.include_prompt:
            raise ValueError("include_prompt=False is not supported (it needs the prompt's token count)")

    @classmethod
    def mean(cls, word_embedding_dimension: int | None = None) -> PoolingConfig:
        """What sentence-transformers adds after a plain (non-causal) encoder: mean pooling."""
        return cls(modes=("mean",), word_embedding_dimension=word_embedding_dimension)

    def output_dimension(self) -> int | None:
        """The width `pool` returns, hidden * number of modes, when the config names the hidden size."""
        if self.word_embedding_dimension is None:
            return None
        return self.word_embedding_dimension * len(self.modes)

    @classmethod
    def from_file(cls, path: Path) -> PoolingConfig:
        """Read a Pooling config.json, in the 6.x form (pooling_mode) or the legacy one (pooling_mode_* booleans)."""
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"{path}: the Pooling config file is missing") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigurationError(f"{path}: cannot read the Pooling config: {exc}") from exc
        if not isinstance(config, dict):
            raise ConfigurationError(f"{path}: the Pooling config must be a JSON object, not {type(config).__name__}")
        return cls(
            modes=_modes(path, config),
            word_embedding_dimension=_dimension(path, config),
            include_prompt=_include_prompt(path, config),
        )


def _modes(path: Path, config: dict[str, Any]) -> tuple[PoolingMode, ...]:
    for key, value in config.items():
        if key.startswith("pooling_mode_") and key not in LEGACY_MODE_KEYS and value is True:
            raise ConfigurationError(
                f"{path}: unknown pooling mode {key!r} is enabled; known keys: {sorted(LEGACY_MODE_KEYS)}"
            )
    # An unknown pooling_mode_* set false enables nothing: tolerated. Any other unknown key makes ST's own load fail.
    unknown = sorted(key for key in config if key not in _KNOWN_KEYS and not key.startswith("pooling_mode_"))
    if unknown:
        raise ConfigurationError(f"{path}: unknown Pooling setting(s) {unknown}; known: {sorted(_KNOWN_KEYS)}")
    if "pooling_mode" in config:
        # The 6.x form; ST drops the legacy booleans when it is present.
        value = config["pooling_mode"]
        modes = [value] if isinstance(value, str) else value
        if not isinstance(modes, list) or not all(isinstance(mode, str) for mode in modes):
            raise ConfigurationError(f"{path}: pooling_mode must be a mode name or a list of them, not {value!r}")
        if not modes:
            raise ConfigurationError(f"{path}: no pooling mode is enabled (pooling_mode is empty)")
        unknown_modes = [mode for mode in modes if mode not in POOLING_MODES]
        if unknown_modes:
            raise ConfigurationError(f"{path}: unknown pooling mode(s) {unknown_modes}; known: {list(POOLING_MODES)}")
        return tuple(cast("list[PoolingMode]", modes))
    legacy = {key: config[key] for key in LEGACY_MODE_KEYS if key in config}
    if not legacy:
        return ("mean",)  # no mode key at all: Pooling's default, in every ST version
    for key, value in legacy.items():
        if not isinstance(value, bool):
            raise ConfigurationError(f"{path}: {key} must be true or false, not {value!r}")
    enabled = tuple(mode for key, mode in LEGACY_MODE_KEYS.items() if legacy.get(key))
    if not enabled:
        # ST 6.x would fall back to mean here, older versions failed at the first forward: ambiguous, so refused.
        raise ConfigurationError(f"{path}: no pooling mode is enabled (every pooling_mode_* key is false)")
    return enabled


def _dimension(path: Path, config: dict[str, Any]) -> int:
    # 6.x writes embedding_dimension; older versions word_embedding_dimension. ST requires one of them.
    value = config.get("embedding_dimension", config.get("word_embedding_dimension"))
    if value is None:
        raise ConfigurationError(f"{path}: the Pooling config has no word_embedding_dimension")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{path}: word_embedding_dimension must be a positive integer, not {value!r}")
    return value


def _include_prompt(path: Path, config: dict[str, Any]) -> bool:
    value = config.get("include_prompt", True)
    if value is True:
        return True
    if value is False:
        raise ConfigurationError(
            f"{path}: include_prompt is false, which is not supported: excluding the prompt "
            "from pooling needs the prompt's token count, which this server does not track"
        )
    raise ConfigurationError(f"{path}: include_prompt must be true or false, not {value!r}")


def pool(config: PoolingConfig, token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """[batch, hidden * len(modes)] float32: ST's Pooling of [batch, seq, hidden] embeddings under a [batch, seq] mask.

    Computed in float32, as ST does for float32 inputs (other float dtypes are cast to float32 first).
    """
    embeddings = np.asarray(token_embeddings, dtype=np.float32)
    mask = np.asarray(attention_mask)
    if embeddings.ndim != 3 or mask.shape != embeddings.shape[:2] or embeddings.shape[1] == 0:
        raise ValueError(
            f"token_embeddings must be [batch, seq >= 1, hidden] and attention_mask [batch, seq]; "
            f"got {embeddings.shape} and {mask.shape}"
        )
    batch, seq_len, _ = embeddings.shape
    rows = np.arange(batch)
    weights = mask.astype(np.float32)[:, :, None]  # ST multiplies by the mask cast to the embeddings' dtype
    masked = embeddings * weights
    # ST's argmax of the mask: the first unmasked token of each row (0 for an all-pad row).
    first = mask.argmax(axis=1)
    outputs: list[np.ndarray] = []
    for mode in config.modes:
        if mode == "cls":
            outputs.append(embeddings[rows, first])
        elif mode == "max":
            outputs.append(np.where(weights == 0, np.float32(-np.inf), embeddings).max(axis=1))
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            total = masked.sum(axis=1, dtype=np.float32)
            count = np.maximum(weights.sum(axis=1, dtype=np.float32), _MIN_DENOMINATOR)
            outputs.append(total / (count if mode == "mean" else np.sqrt(count)))
        elif mode == "weightedmean":
            # Positions 1..seq shifted so that the first unmasked token weighs 1, whatever the left padding.
            positions = np.arange(1, seq_len + 1, dtype=np.float32)[None, :, None] - first[:, None, None]
            weighted = weights * positions.astype(np.float32, copy=False)
            total = (embeddings * weighted).sum(axis=1, dtype=np.float32)
            outputs.append(total / np.maximum(weighted.sum(axis=1, dtype=np.float32), _MIN_DENOMINATOR))
        else:  # lasttoken: the last position holding the mask's maximum; an all-pad row gives token 0 times 0.
            flipped = mask[:, ::-1]
            from_end = np.where(flipped.max(axis=1) == 0, seq_len - 1, flipped.argmax(axis=1))
            outputs.append(masked[rows, seq_len - 1 - from_end])
    return np.concatenate(outputs, axis=-1).astype(np.float32, copy=False)


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Unit L2 length along the last axis: torch.nn.functional.normalize(p=2, dim=-1), eps 1e-12, in float32.

    A zero row stays zero (divided by eps, not by 0). This is ST's Normalize module and encode's
    normalize_embeddings=True alike.
    """
    values = np.asarray(vectors, dtype=np.float32)
    norms = np.sqrt(np.square(values).sum(axis=-1, keepdims=True, dtype=np.float32))
    return values / np.maximum(norms, _NORMALIZE_EPS)


def truncate_dimensions(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """The first `dimensions` values of each vector (Matryoshka truncation), as ST's truncate_embeddings does.

    ST 6.2 (SentenceTransformer._encode) truncates after the whole module pipeline, so after a Normalize module
    (the truncated vectors are then no longer unit length), and before encode's own normalize_embeddings=True
    (which re-normalises the truncated vectors). Which of the two a request gets is the caller's choice.
    Like ST, asking for as many dimensions as the vectors have, or more, returns them whole.
    """
    if isinstance(dimensions, bool) or not isinstance(dimensions, int | np.integer) or dimensions < 1:
        raise ValueError(f"dimensions must be a positive integer, not {dimensions!r}")
    return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32)[..., :dimensions])
