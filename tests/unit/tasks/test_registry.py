"""The task table: HF_TASK's names, detection from config.json or a sentence-transformers layout, refusals."""

import json
import shutil
from pathlib import Path

import pytest

from hf_serving.errors import ConfigurationError
from hf_serving.tasks.base import Task
from hf_serving.tasks.registry import ALIASES, TASKS, detect_task, read_config
from tests.support.paths import TINY_QA, minilm


def model_dir(tmp_path: Path, config: dict) -> Path:
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


@pytest.mark.parametrize(
    ("architectures", "forced", "task"),
    [
        (["DistilBertForQuestionAnswering"], None, Task.QUESTION_ANSWERING),
        (["BertForSequenceClassification"], None, Task.TEXT_CLASSIFICATION),
        (["DistilBertForQuestionAnswering"], "sentiment-analysis", Task.TEXT_CLASSIFICATION),
        ([], "question-answering", Task.QUESTION_ANSWERING),
        (["BertModel"], "feature-extraction", Task.FEATURE_EXTRACTION),
        (["BertModel"], "Sentence-Embeddings", Task.SENTENCE_EMBEDDINGS),
        (["BertModel"], "sentence-similarity", Task.SENTENCE_EMBEDDINGS),  # the Hub's name: similarity is served there
        (["DistilBertForMaskedLM"], None, Task.FILL_MASK),
        (["BertModel"], "fill-mask", Task.FILL_MASK),
    ],
)
def test_task_from_architectures_or_hf_task(tmp_path, architectures, forced, task):
    assert detect_task(model_dir(tmp_path, {"architectures": architectures}), forced).task is task


def test_a_sentence_transformers_directory_is_served_as_sentence_embeddings_unless_hf_task_says_otherwise():
    assert detect_task(minilm(), None).task is Task.SENTENCE_EMBEDDINGS  # its config.json says only BertModel
    assert detect_task(minilm(), "feature-extraction").task is Task.FEATURE_EXTRACTION


def test_a_modules_json_decides_even_beside_a_head_architecture(tmp_path):
    shutil.copytree(TINY_QA, tmp_path / "model")
    (tmp_path / "model" / "modules.json").write_text("[]")
    assert detect_task(tmp_path / "model", None).task is Task.SENTENCE_EMBEDDINGS


@pytest.mark.parametrize(
    ("config", "forced", "fragment"),
    [
        ({"architectures": ["GPT2LMHeadModel"]}, None, "GPT2LMHeadModel"),
        ({}, None, "set HF_TASK"),
        ({"architectures": ["BertModel"]}, None, "sentence-transformers directories (embeddings, or a CrossEncoder"),
        ({"architectures": ["DistilBertForQuestionAnswering"]}, "summarization", "HF_TASK='summarization'"),
    ],
)
def test_unsupported_tasks_are_refused_clearly(tmp_path, config, forced, fragment):
    with pytest.raises(ConfigurationError) as caught:
        detect_task(model_dir(tmp_path, config), forced)
    assert fragment in str(caught.value)


def test_every_name_of_every_task_is_accepted_and_listed_in_the_refusal(tmp_path):
    assert set(ALIASES) == {
        "question-answering",
        "text-classification",
        "sentiment-analysis",
        "sentence-embeddings",
        "sentence-similarity",
        "feature-extraction",
        "fill-mask",
        "zero-shot-classification",
        "token-classification",
        "ner",
        "text-ranking",
        "sentence-ranking",
        "rerank",
    }
    with pytest.raises(ConfigurationError) as caught:
        detect_task(model_dir(tmp_path, {}), "translation")
    assert all(name in str(caught.value) for name in ALIASES)


@pytest.mark.parametrize(
    "name",
    [
        "text-generation",
        "summarization",
        "translation",
        "text2text-generation",
        "translation_en_to_fr",
        " Summarization ",
    ],
)
def test_a_generative_task_is_refused_in_one_line_listing_the_served_tasks(tmp_path, name):
    with pytest.raises(ConfigurationError) as caught:
        detect_task(model_dir(tmp_path, {"architectures": ["T5ForConditionalGeneration"]}), name)
    message = str(caught.value)
    assert "\n" not in message and f"HF_TASK={name!r}" in message and "generative" in message
    assert message.endswith(f"this container serves {', '.join(sorted(ALIASES))}")


def test_each_row_names_the_class_transformers_loads_it_with_and_the_outputs_its_code_reads():
    import transformers

    for spec in TASKS.values():
        assert hasattr(transformers, spec.auto_model), spec.auto_model
        assert spec.output_names and spec.csv_columns
    assert TASKS[Task.QUESTION_ANSWERING].csv_columns == ("question", "context")


def test_read_config_reports_broken_json(tmp_path):
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(ConfigurationError, match="not readable JSON"):
        read_config(tmp_path)
    assert read_config(TINY_QA)["architectures"] == ["DistilBertForQuestionAnswering"]
    assert json.loads((TINY_QA / "RANDOM_WEIGHTS").read_text())["random_weights"] is True
