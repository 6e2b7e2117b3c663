"""The explanation worker's place in the stack: its own store entry and registration (one worker, no batch), how a
worker knows it is the one, and the banner's line."""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from types import SimpleNamespace

from hf_serving.launcher import mms
from hf_serving.launcher.serve import Stack
from hf_serving.loading import model_store
from hf_serving.serving.worker_place import worker_place
from hf_serving.settings import Settings, current_settings, use_settings
from tests.support.paths import TINY_QA, minilm


def _config() -> mms.MmsConfig:
    return mms.MmsConfig(
        inference_port=1,
        management_port=2,
        workers=2,
        batch_size=8,
        max_batch_delay_ms=1,
        response_timeout_s=120,
        max_request_bytes=1024,
        max_response_bytes=2048,
        job_queue_size=50,
        jvm_args="",
        log_level="INFO",
    )


def test_its_registration_is_one_worker_taking_one_request_at_a_time():
    config = mms.explanation_config(_config())
    assert (config.workers, config.batch_size, config.max_batch_delay_ms) == (1, 1, 0)
    assert config.response_timeout_s == 120


def test_the_model_store_gets_a_marked_entry_for_it_only_when_asked(tmp_path):
    store = mms.write_runtime_files(tmp_path / "with", _config(), explanation_worker=True)
    entry = store / model_store.EXPLAIN_MODEL_NAME
    manifest = json.loads((entry / "MAR-INF" / "MANIFEST.json").read_text())
    assert manifest["model"]["modelName"] == "explain" and manifest["model"]["handler"] == mms.HANDLER
    assert model_store.is_explanation_entry(entry)
    assert not model_store.is_explanation_entry(store / model_store.SINGLE_MODEL_NAME)
    plain = mms.write_runtime_files(tmp_path / "without", _config())
    assert not (plain / model_store.EXPLAIN_MODEL_NAME).exists()


def test_a_worker_on_the_marked_entry_serves_float32_on_torch_and_reports_nothing(tmp_path):
    use_settings(Settings(model_dir=TINY_QA, dtype="bfloat16", engine="openvino", runtime_dir=tmp_path))
    try:
        entry = model_store.write_explanation_entry(tmp_path / "store", mms.HANDLER)
        place = worker_place(SimpleNamespace(system_properties={"model_dir": str(entry)}))
        assert place.explains and place.reports is None and place.model_name == "explain"
        assert (place.settings.dtype, place.settings.engine, place.settings.model_dir) == ("float32", "torch", TINY_QA)
        single = model_store.write_manifest(tmp_path / "store", model_store.SINGLE_MODEL_NAME, mms.HANDLER)
        use_settings(Settings(model_dir=TINY_QA, dtype="bfloat16", runtime_dir=tmp_path))
        place = worker_place(SimpleNamespace(system_properties={"model_dir": str(single)}))
        assert not place.explains and place.reports == tmp_path and place.settings.dtype == "bfloat16"
        # Its explain requests are the explanation worker's: a batching worker never explains, whatever reached it.
        assert place.settings.explain_elsewhere and current_settings().explain_elsewhere
        assert not place.settings.multi_model
    finally:
        use_settings(Settings())


def test_the_banner_says_whether_explanations_are_on_and_where(tmp_path, caplog):
    def banner(model_dir=TINY_QA, **change: object) -> str:
        settings = dataclasses.replace(Settings(model_dir=model_dir, runtime_dir=tmp_path / "runtime"), **change)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="hf_serving.serve"):
            Stack(settings, model_dir)._print_banner()
        return next(r.getMessage() for r in caplog.records if r.getMessage().startswith("explanations:"))

    assert banner().startswith("explanations: on, in a worker of their own (float32 torch")
    assert banner(explain=False) == "explanations: off (SERVE_EXPLAIN=off)"
    assert banner(minilm()) == "explanations: off (sentence-embeddings has none)"


def _in_a_child(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_explanation_worker_and_the_threads_it_starts_run_only_on_idle_cpu_time():
    policies = _in_a_child(
        "import os, threading\n"
        "from hf_serving.serving.idle_priority import run_when_idle\n"
        "before, after, go = [], [], threading.Event()\n"
        "early = threading.Thread(target=lambda: (go.wait(), before.append(os.sched_getscheduler(0))))\n"
        "early.start()\n"
        "run_when_idle()\n"
        "go.set(); early.join()\n"
        "late = threading.Thread(target=lambda: after.append(os.sched_getscheduler(0)))\n"
        "late.start(); late.join()\n"
        "print(os.sched_getscheduler(0) == os.SCHED_IDLE, before == after == [os.SCHED_IDLE])"
    )
    assert policies == "True True"


def test_where_idle_scheduling_is_refused_it_runs_at_nice_19():
    niceness = _in_a_child(
        "import os\n"
        "from hf_serving.serving import idle_priority\n"
        "def refuse(*args): raise PermissionError('not here')\n"
        "os.sched_setscheduler = refuse\n"
        "idle_priority.run_when_idle()\n"
        "print(os.getpriority(os.PRIO_PROCESS, 0))"
    )
    assert niceness == "19"
