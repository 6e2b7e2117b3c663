import json
from pathlib import Path

import pytest

from hf_serving import model_source
from hf_serving.errors import ConfigurationError
from hf_serving.settings import Settings
from hf_serving.tasks import Task, detect_task, read_config

TINY_QA = Path(__file__).resolve().parents[1] / "fixtures" / "tiny-qa"


def test_a_directory_with_config_json_is_served_as_is():
    assert model_source.resolve_model_dir(Settings(model_dir=TINY_QA)) == TINY_QA.resolve()


def test_hub_id_is_downloaded_with_revision_and_token_when_the_directory_is_empty(tmp_path, monkeypatch):
    calls = []

    def fake_snapshot_download(**kwargs):
        calls.append(kwargs)
        return str(tmp_path / "snapshot")

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot_download)
    settings = Settings(model_dir=tmp_path / "empty", model_id="distilbert/distilbert-base-uncased-distilled-squad",
                        model_revision="v1", hub_token="hf_secret")
    assert model_source.resolve_model_dir(settings) == tmp_path / "snapshot"
    [call] = calls
    assert (call["repo_id"], call["revision"], call["token"]) == (
        "distilbert/distilbert-base-uncased-distilled-squad", "v1", "hf_secret")
    assert "*.safetensors" in call["allow_patterns"]


def test_a_failed_hub_download_names_the_model_and_never_the_token(tmp_path, monkeypatch):
    def failing(**kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("huggingface_hub.snapshot_download", failing)
    settings = Settings(model_dir=tmp_path, model_id="org/missing", hub_token="hf_secret")
    with pytest.raises(ConfigurationError) as caught:
        model_source.resolve_model_dir(settings)
    assert "org/missing" in str(caught.value) and "connection refused" in str(caught.value)
    assert "hf_secret" not in str(caught.value)


def test_neither_a_model_directory_nor_a_hub_id_names_both_options(tmp_path):
    with pytest.raises(ConfigurationError) as caught:
        model_source.resolve_model_dir(Settings(model_dir=tmp_path))
    assert "HF_MODEL_DIR" in str(caught.value) and "HF_MODEL_ID" in str(caught.value)


@pytest.mark.parametrize(("architectures", "forced", "task"), [
    (["DistilBertForQuestionAnswering"], None, Task.QUESTION_ANSWERING),
    (["BertForSequenceClassification"], None, Task.TEXT_CLASSIFICATION),
    (["DistilBertForQuestionAnswering"], "sentiment-analysis", Task.TEXT_CLASSIFICATION),
    ([], "question-answering", Task.QUESTION_ANSWERING),
])
def test_task_from_architectures_or_hf_task(architectures, forced, task):
    assert detect_task({"architectures": architectures}, forced) is task


@pytest.mark.parametrize(("config", "forced", "fragment"), [
    ({"architectures": ["GPT2LMHeadModel"]}, None, "GPT2LMHeadModel"),
    ({}, None, "set HF_TASK"),
    ({"architectures": ["DistilBertForQuestionAnswering"]}, "summarization", "HF_TASK='summarization'"),
])
def test_unsupported_tasks_are_refused_clearly(config, forced, fragment):
    with pytest.raises(ConfigurationError) as caught:
        detect_task(config, forced)
    assert fragment in str(caught.value)


def test_read_config_reports_broken_json(tmp_path):
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(ConfigurationError, match="not readable JSON"):
        read_config(tmp_path)
    assert read_config(TINY_QA)["architectures"] == ["DistilBertForQuestionAnswering"]
    assert json.loads((TINY_QA / "RANDOM_WEIGHTS").read_text())["random_weights"] is True
