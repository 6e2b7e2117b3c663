"""What the launcher hands the model server and its workers: threads, workers and the tokenizer's own threads."""

from __future__ import annotations

import shutil

import pytest

from hf_serving import hardware
from hf_serving.launcher.serve import Stack
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA


@pytest.fixture
def child_env(monkeypatch, tmp_path):
    def make(gpus: int, cores: int, **environ: str) -> dict[str, str]:
        monkeypatch.setattr(hardware, "gpu_count", lambda: gpus)
        monkeypatch.setattr(hardware, "usable_cores", lambda: cores)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        stack = Stack(Settings(model_dir=TINY_QA, runtime_dir=tmp_path / "runtime"), TINY_QA)
        try:
            return {**stack._child_env(), "batch_size": str(stack.mms_config.batch_size)}
        finally:
            shutil.rmtree(tmp_path / "runtime", ignore_errors=True)

    monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    return make


def test_on_cpu_one_worker_gets_every_core_and_the_tokenizer_no_threads_of_its_own(child_env):
    env = child_env(gpus=0, cores=2)
    assert threads(env) == ("1", "2", "2")
    assert (env["TOKENIZERS_PARALLELISM"], env["batch_size"]) == ("false", "8")


def test_on_a_gpu_workers_share_the_cores_and_tokenise_in_parallel(child_env):
    env = child_env(gpus=1, cores=16)
    assert threads(env) == ("4", "4", "4")
    assert (env["TOKENIZERS_PARALLELISM"], env["batch_size"]) == ("true", "32")


def test_the_callers_tokenizer_setting_wins(child_env):
    assert child_env(gpus=1, cores=16, TOKENIZERS_PARALLELISM="false")["TOKENIZERS_PARALLELISM"] == "false"
    assert child_env(gpus=0, cores=2, TOKENIZERS_PARALLELISM="true")["TOKENIZERS_PARALLELISM"] == "true"


def threads(env: dict[str, str]) -> tuple[str, str, str]:
    return env["SAGEMAKER_MODEL_SERVER_WORKERS"], env["MODEL_SERVER_THREADS"], env["OMP_NUM_THREADS"]
