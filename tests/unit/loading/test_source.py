"""Where the model's files come from: a directory as it is, or a Hub snapshot."""

import pytest

from hf_serving.errors import ConfigurationError
from hf_serving.loading import source as model_source
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA


def test_a_directory_with_config_json_is_served_as_is():
    assert model_source.resolve_model_dir(Settings(model_dir=TINY_QA)) == TINY_QA.resolve()


def test_hub_id_is_downloaded_with_revision_and_token_when_the_directory_is_empty(tmp_path, monkeypatch):
    calls = []

    def fake_snapshot_download(**kwargs):
        calls.append(kwargs)
        return str(tmp_path / "snapshot")

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot_download)
    settings = Settings(
        model_dir=tmp_path / "empty",
        model_id="distilbert/distilbert-base-uncased-distilled-squad",
        model_revision="v1",
        hub_token="hf_secret",
    )
    assert model_source.resolve_model_dir(settings) == tmp_path / "snapshot"
    [call] = calls
    assert (call["repo_id"], call["revision"], call["token"]) == (
        "distilbert/distilbert-base-uncased-distilled-squad",
        "v1",
        "hf_secret",
    )
    assert "*.safetensors" in call["allow_patterns"]
    assert "README.md" in call["allow_patterns"]  # the model card: its pipeline_tag may name the task


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
