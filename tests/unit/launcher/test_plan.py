"""The launcher's plan (launcher/plan.py), read as data: what the children's environment holds, what nginx is given,
the zygote's command on a multi-model endpoint, with the host's facts a test chooses. Nothing starts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hf_serving import hardware
from hf_serving.launcher import plan as launcher_plan
from hf_serving.launcher.plan import HostFacts, Plan, make_plan
from hf_serving.settings import BatchStrategy, Settings
from tests.support.paths import TINY_QA

PORTS = (20001, 20002, 20003, 20004, 20005)


def host(tmp_path: Path, gpus: int = 0, **environ: str) -> HostFacts:
    return HostFacts(
        ports=PORTS,
        runtime_dir=tmp_path / "runtime",
        gpus=gpus,
        docs_assets=None,
        nginx_modules="load_module /m/ndk_http_module.so;",
        inherited_env={"PATH": "/usr/bin", **environ},
    )


@pytest.fixture
def planned(monkeypatch, tmp_path):
    def make(gpus: int = 0, cores: int = 2, *, model_dir: Path | None = TINY_QA, **settings: object) -> Plan:
        # The sizes follow the hardware (loading/sizing.py), read there.
        monkeypatch.setattr(hardware, "gpu_count", lambda: gpus)
        monkeypatch.setattr(hardware, "usable_cores", lambda: cores)
        environ = settings.pop("environ", {})
        assert isinstance(environ, dict)
        chosen = Settings(model_dir=TINY_QA, runtime_dir=tmp_path / "runtime", **settings)
        return make_plan(chosen, model_dir, host(tmp_path, gpus, **environ))

    return make


def test_on_cpu_one_worker_gets_every_core_and_the_tokenizer_no_threads_of_its_own(planned):
    plan = planned(gpus=0, cores=2)
    assert threads(plan.child_env) == ("1", "2", "2")
    assert (plan.child_env["TOKENIZERS_PARALLELISM"], plan.mms_config.batch_size) == ("false", 8)


def test_on_a_gpu_workers_share_the_cores_and_tokenise_in_parallel(planned):
    plan = planned(gpus=1, cores=16)
    assert threads(plan.child_env) == ("4", "4", "4")
    assert (plan.child_env["TOKENIZERS_PARALLELISM"], plan.mms_config.batch_size) == ("true", 32)


def test_the_callers_tokenizer_setting_wins(planned):
    assert planned(gpus=1, cores=16, tokenizers_parallelism="false").child_env["TOKENIZERS_PARALLELISM"] == "false"
    assert planned(gpus=0, cores=2, tokenizers_parallelism="true").child_env["TOKENIZERS_PARALLELISM"] == "true"


def test_the_children_inherit_the_launchers_environment_with_the_places_it_chose(planned, tmp_path):
    env = planned(environ={"PYTHONPATH": "/callers", "HF_TOKEN": "t"}).child_env
    assert (env["PATH"], env["HF_TOKEN"]) == ("/usr/bin", "t")
    assert env["HF_MODEL_DIR"] == str(TINY_QA) and env["SERVE_CODE_DIR"] == str(TINY_QA / "code")
    assert env["SERVE_RUNTIME_DIR"] == str(tmp_path / "runtime")
    assert env["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "runtime" / "metrics")
    container, packages, callers = env["PYTHONPATH"].split(":")
    assert (Path(container) / "hf_serving").is_dir()
    assert (packages, callers) == (str(tmp_path / "runtime" / "code-packages"), "/callers")
    assert "GOMP_SPINCOUNT" not in env  # a single-model endpoint leaves libgomp as it is


def test_a_multi_model_endpoints_children_spin_briefly_unless_the_caller_chose(planned):
    multi = planned(multi_model=True, model_dir=None)
    assert "HF_MODEL_DIR" not in multi.child_env and "SERVE_CODE_DIR" not in multi.child_env
    assert multi.child_env["GOMP_SPINCOUNT"] == launcher_plan.MME_SPIN_COUNT
    assert planned(multi_model=True, model_dir=None, gomp_spincount="500").child_env["GOMP_SPINCOUNT"] == "500"
    assert "GOMP_SPINCOUNT" not in planned(multi_model=True, model_dir=None, omp_wait_policy="passive").child_env


def test_the_ports_go_where_the_host_found_them_free(planned):
    plan = planned()
    assert (plan.mms_config.inference_port, plan.mms_config.management_port) == PORTS[:2]
    assert (plan.edge_port, plan.models_api_port, plan.metrics_port) == PORTS[2:]
    values = plan.nginx_values
    assert (values["MMS_PORT"], values["EDGE_PORT"], values["MODELS_API_PORT"], values["METRICS_PORT"]) == (
        20001,
        20003,
        20004,
        20005,
    )
    assert values["NGINX_MODULES"] == "load_module /m/ndk_http_module.so;"


def test_nginx_is_told_the_mode_the_ready_file_and_the_limits(planned, tmp_path):
    single, multi = (
        planned(max_payload_mb=10, invocation_timeout_s=30).nginx_values,
        planned(multi_model=True).nginx_values,
    )
    assert (single["MULTI_MODEL"], multi["MULTI_MODEL"]) == (0, 1)
    assert single["READY_FILE"] == str(tmp_path / "runtime" / "ready")
    assert (single["MAX_BODY_BYTES"], single["MAX_PAYLOAD_MB"]) == (10 * 1024 * 1024, 10)
    assert (single["INVOCATION_TIMEOUT_S"], single["OUTER_READ_TIMEOUT_S"]) == (30, 35)


def test_batch_transform_reads_its_execution_parameters_from_the_settings(planned):
    plan = planned(batch_strategy=BatchStrategy.SINGLE_RECORD, max_concurrent_transforms=3)
    assert plan.execution_parameters == {
        "MaxConcurrentTransforms": 3,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 6,
    }
    rendered = json.loads(str(plan.nginx_values["EXECUTION_PARAMETERS"]))
    assert rendered == {"MaxConcurrentTransforms": 3, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 6}
    assert planned().execution_parameters["MaxConcurrentTransforms"] == 1  # one per worker by default


def test_the_explanation_worker_is_planned_for_a_single_model_that_explains_only(planned):
    assert planned().explanation_worker  # question answering explains
    assert not planned(explain=False).explanation_worker
    assert not planned(multi_model=True, model_dir=None).explanation_worker


def test_the_zygote_runs_this_python_on_a_socket_in_the_runtime_directory(planned, tmp_path):
    plan = planned(multi_model=True, model_dir=None)
    runtime = tmp_path / "runtime"
    assert plan.zygote_command == [
        sys.executable,
        "-m",
        "hf_serving",
        "zygote",
        str(runtime / "zygote.sock"),
        str(runtime / "zygote-children"),
    ]


def test_the_plan_is_made_without_writing_anything(planned, tmp_path):
    multi, single = planned(multi_model=True, model_dir=None), planned()
    assert multi.nginx_values["MULTI_MODEL"] == 1 and single.child_env["SERVE_RUNTIME_DIR"] == str(tmp_path / "runtime")
    assert not (tmp_path / "runtime").exists()


def threads(env: dict[str, str]) -> tuple[str, str, str]:
    return env["SAGEMAKER_MODEL_SERVER_WORKERS"], env["MODEL_SERVER_THREADS"], env["OMP_NUM_THREADS"]
