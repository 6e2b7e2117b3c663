"""The size limits the launcher gives multi-model-server: a request's and an answer's, each 1 MiB above its own."""

from __future__ import annotations

import shutil

from hf_serving.launcher import mms
from hf_serving.launcher.plan import make_plan
from hf_serving.settings import Settings
from tests.support.paths import TINY_QA

MIB = 1024 * 1024


def test_the_answer_limit_reaches_config_properties_1_mib_above_what_the_worker_sends(tmp_path):
    settings = Settings(model_dir=TINY_QA, runtime_dir=tmp_path / "runtime", max_payload_mb=6, max_response_mb=40)
    try:
        config = make_plan(settings, TINY_QA).mms_config
        assert (config.max_request_bytes, config.max_response_bytes) == (7 * MIB, 41 * MIB)
        mms.write_runtime_files(tmp_path / "files", config)
    finally:
        shutil.rmtree(tmp_path / "runtime", ignore_errors=True)
    properties = (tmp_path / "files" / "config.properties").read_text().splitlines()
    assert f"max_request_size={7 * MIB}" in properties
    assert f"max_response_size={41 * MIB}" in properties


def test_the_jvm_heap_holds_two_copies_of_every_answer_the_workers_can_send_at_once_and_never_under_1_gb():
    assert "-Xmx1024m" in mms.default_jvm_args(8, 17 * MIB).split()  # CPU: one worker's batch of 8
    assert "-Xmx1344m" in mms.default_jvm_args(32, 17 * MIB).split()  # 256 MB + 2 x 32 x 17 MB
    assert "-Xmx2466m" in mms.default_jvm_args(65, 17 * MIB).split()  # two workers' and the explanation worker's


def test_the_callers_jvm_options_win(tmp_path):
    settings = Settings(model_dir=TINY_QA, runtime_dir=tmp_path / "runtime", jvm_args="-Xmx3g")
    try:
        assert make_plan(settings, TINY_QA).mms_config.jvm_args == "-Xmx3g"
    finally:
        shutil.rmtree(tmp_path / "runtime", ignore_errors=True)
