"""Which directories are rerankers, and the activation, prompt and limits read from them as CrossEncoder 6.2 reads
them; what cannot be served faithfully is refused at start, naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.base import Task
from hf_serving.tasks.registry import detect_task
from hf_serving.tasks.reranking.layout import CrossEncoderLayout, is_cross_encoder_dir
from tests.support.paths import minilm

ONE_LABEL = {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "LABEL_0"}}


def _directory(root: Path, files: dict[str, object]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / name).write_text(json.dumps(content))
    return root


def _edited(source: Path, target: Path, name: str, **changes: object) -> Path:
    shutil.copytree(source, target)
    path = target / name
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return target


def test_a_cross_encoder_saved_by_sentence_transformers_6_is_reranking_and_its_modules_json_is_not_embeddings(
    cross_encoder_dir,
):
    assert json.loads((cross_encoder_dir / "modules.json").read_text())[0]["path"] == ""  # what 6.2 writes
    assert is_cross_encoder_dir(cross_encoder_dir)
    assert detect_task(cross_encoder_dir, None).task is Task.TEXT_RANKING
    assert CrossEncoderLayout.read(cross_encoder_dir) == CrossEncoderLayout(activation="sigmoid")
    # HF_TASK still decides: the same directory as a one-label text classifier
    assert detect_task(cross_encoder_dir, "text-classification").task is Task.TEXT_CLASSIFICATION


def test_a_sentence_transformer_is_still_sentence_embeddings():
    assert not is_cross_encoder_dir(minilm())
    assert detect_task(minilm(), None).task is Task.SENTENCE_EMBEDDINGS


def test_a_cross_encoder_of_several_labels_is_a_pair_classifier_not_a_reranker(cross_encoder_dir, tmp_path):
    nli = _edited(
        cross_encoder_dir,
        tmp_path / "nli",
        "config.json",
        id2label={"0": "contradiction", "1": "entailment", "2": "neutral"},
    )
    assert not is_cross_encoder_dir(nli)
    assert detect_task(nli, None).task is Task.TEXT_CLASSIFICATION  # from its architecture, not its modules.json
    with pytest.raises(ConfigurationError, match="has 3 labels; serve it as text-classification"):
        CrossEncoderLayout.read(nli)


@pytest.mark.parametrize(
    ("config", "activation"),
    [
        (
            {"sentence_transformers": {"activation_fn": "torch.nn.modules.linear.Identity", "version": "4.1.0"}},
            "identity",
        ),
        ({"sbert_ce_default_activation_function": "torch.nn.modules.activation.Sigmoid"}, "sigmoid"),
        ({"sbert_ce_default_activation_function": "torch.nn.Tanh"}, "tanh"),
        # not torch's: CrossEncoder imports it only with trust_remote_code, and otherwise uses its default
        ({"sbert_ce_default_activation_function": "my_package.Scaled"}, "sigmoid"),
    ],
)
def test_cross_encoders_saved_before_6_keep_their_activation_in_config_json(tmp_path, config, activation):
    directory = _directory(tmp_path, {"config.json": {**ONE_LABEL, **config}})
    assert is_cross_encoder_dir(directory)
    assert detect_task(directory, None).task is Task.TEXT_RANKING
    assert CrossEncoderLayout.read(directory).activation == activation


def test_the_saved_activation_comes_first_then_config_json_then_sigmoid(tmp_path):
    both = _directory(
        tmp_path / "both",
        {
            "config.json": {
                **ONE_LABEL,
                "sentence_transformers": {"activation_fn": "torch.nn.modules.activation.Tanh"},
            },
            "config_sentence_transformers.json": {
                "model_type": "CrossEncoder",
                "activation_fn": "torch.nn.modules.linear.Identity",
            },
        },
    )
    assert CrossEncoderLayout.read(both).activation == "identity"
    untrusted = _directory(
        tmp_path / "untrusted",
        {
            "config.json": {
                **ONE_LABEL,
                "sentence_transformers": {"activation_fn": "torch.nn.modules.activation.Tanh"},
            },
            "config_sentence_transformers.json": {"model_type": "CrossEncoder", "activation_fn": "custom.Act"},
        },
    )
    assert CrossEncoderLayout.read(untrusted).activation == "tanh"
    plain = _directory(tmp_path / "plain", {"config.json": ONE_LABEL})
    assert not is_cross_encoder_dir(plain)  # a plain classifier: reranking only when HF_TASK says so
    assert detect_task(plain, None).task is Task.TEXT_CLASSIFICATION
    for name in ("text-ranking", "sentence-ranking", "rerank"):
        assert detect_task(plain, name).task is Task.TEXT_RANKING
    assert CrossEncoderLayout.read(plain) == CrossEncoderLayout(activation="sigmoid")


def test_the_default_prompt_lower_casing_and_max_seq_length_are_read(cross_encoder_dir, tmp_path):
    prompted = _edited(
        cross_encoder_dir,
        tmp_path / "prompted",
        "config_sentence_transformers.json",
        prompts={"query": "query: "},
        default_prompt_name="query",
    )
    (prompted / "sentence_bert_config.json").write_text(
        json.dumps({"transformer_task": "sequence-classification", "max_seq_length": 64, "do_lower_case": True})
    )
    assert CrossEncoderLayout.read(prompted) == CrossEncoderLayout(
        activation="sigmoid", query_prompt="query: ", do_lower_case=True, max_seq_length=64
    )


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        (
            "config_sentence_transformers.json",
            {"model_type": "CrossEncoder", "activation_fn": "torch.nn.Softplus"},
            "activation torch.nn.Softplus is not one this server applies (Sigmoid, Identity, Tanh)",
        ),
        (
            "config_sentence_transformers.json",
            {"model_type": "CrossEncoder", "activation_fn": 3},
            "the activation function must be a class path",
        ),
        (
            "config_sentence_transformers.json",
            {"model_type": "CrossEncoder", "default_prompt_name": "query"},
            "default_prompt_name 'query' is not one of the prompts",
        ),
        (
            "modules.json",
            [
                {
                    "idx": 0,
                    "name": "0",
                    "path": "",
                    "type": "sentence_transformers.base.modules.transformer.Transformer",
                },
                {
                    "idx": 1,
                    "name": "1",
                    "path": "1_LogitScore",
                    "type": "sentence_transformers.cross_encoder.modules.LogitScore",
                },
            ],
            "one Transformer module at the directory's root",
        ),
        (
            "sentence_bert_config.json",
            {"transformer_task": "text-generation"},
            "transformer_task 'text-generation' is not served for reranking",
        ),
        ("sentence_bert_config.json", {"max_seq_length": 0}, "max_seq_length must be a positive integer or null"),
    ],
)
def test_what_would_score_otherwise_than_crossencoder_is_refused_at_start(
    cross_encoder_dir, tmp_path, name, content, fragment
):
    directory = tmp_path / "model"
    shutil.copytree(cross_encoder_dir, directory)
    (directory / name).write_text(json.dumps(content))
    with pytest.raises(ConfigurationError) as caught:
        CrossEncoderLayout.read(directory)
    assert fragment in str(caught.value) and name in str(caught.value)
