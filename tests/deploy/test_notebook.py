"""notebooks/Model_Deployment_Docker.ipynb executed by papermill, in both modes, against the real stack.

Local mode: the notebook POSTs to the stack with requests and with the SDK's LocalSession Predictor.
SageMaker mode: the SDK's calls go to moto, the endpoint's invocations through the shim to the stack, and
`docker` is a stand-in that records the build, login and push the notebook runs. The answers in the executed
notebook must be the stack's own, and clean-up must leave nothing in moto.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("papermill", reason="papermill lives in .venv-deploy: run make deploy-test")

import nbformat

from tests.deploy.bed import REGION, ROLE, answer_is_a_span, direct_answer
from tests.support.stack import ROOT, TINY_QA

NOTEBOOK = ROOT / "notebooks" / "Model_Deployment_Docker.ipynb"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
DOCKER_STUB = """#!/bin/sh
# Stands in for the docker CLI: answers the SageMaker SDK's host probe (docker info, docker context inspect)
# as a machine without a daemon does, records every other command, and keeps what `login` reads on stdin.
case "$1" in
    info|context) echo "Cannot connect to the Docker daemon (test stand-in)" >&2; exit 1 ;;
    login) cat > "$DOCKER_STUB_LOG.password" ;;
esac
echo "$*" >> "$DOCKER_STUB_LOG"
"""


# papermill's Python API rather than its CLI, for two of nbclient's settings the CLI cannot pass: a cell's printed
# output may reach the client after the cell's reply (a loaded CI machine), and by default nbclient waits 4 s for it
# and then drops it with only a log warning, so a line the test looks for would vanish. Here it waits 60 s and a
# late output fails the run, naming the cell, instead of passing silently without it.
PAPERMILL_RUNNER = """
import json, pathlib, sys
import papermill
notebook, executed, parameters = sys.argv[1:]
papermill.execute_notebook(notebook, executed, parameters=json.loads(parameters), kernel_name="python3",
                           cwd=str(pathlib.Path(notebook).parent), progress_bar=False,
                           iopub_timeout=60, raise_on_iopub_timeout=True)
"""


def run_notebook(tmp_path: Path, extra_env: dict[str, str], **parameters: object) -> list[str]:
    """Executes the notebook; returns the lines it printed."""
    stub_dir = tmp_path / "bin"
    stub_dir.mkdir()
    (stub_dir / "docker").write_text(DOCKER_STUB)
    (stub_dir / "docker").chmod(0o755)
    env = {
        **os.environ,
        **extra_env,
        "PATH": f"{stub_dir}{os.pathsep}{os.environ['PATH']}",
        "DOCKER_STUB_LOG": str(tmp_path / "docker.log"),
        # The install cell must find the pinned SDK already here, without asking a package index.
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # The kernel is this venv's own: no user or system kernelspec may stand in for it.
        "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    executed = tmp_path / "executed.ipynb"
    command = [sys.executable, "-c", PAPERMILL_RUNNER, str(NOTEBOOK), str(executed), json.dumps(parameters)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, _failure(executed, completed.stderr)
    notebook = nbformat.read(executed, as_version=4)
    return [
        line
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
        for line in output["text"].splitlines()
    ]


def _failure(executed: Path, stderr: str) -> str:
    """The failing cell's error as the notebook recorded it (papermill's own message omits it)."""
    errors = []
    if executed.exists():
        for cell in nbformat.read(executed, as_version=4).cells:
            errors += [
                "\n".join(output.get("traceback", []))
                for output in cell.get("outputs", [])
                if output.get("output_type") == "error"
            ]
    return "\n".join(errors)[-6000:] or stderr[-6000:]


def calls(lines: list[str], label: str) -> list[tuple[Any, Any]]:
    """The (request, answer) pairs the notebook's show() printed under this label."""
    found = []
    for line in lines:
        if line.startswith(f"{label}: "):
            record = json.loads(line[len(label) + 2 :])
            found.append((record["request"], record["answer"]))
    return found


def assert_stack_answers(stack, lines: list[str], label: str, expected_calls: int = 1) -> None:
    found = calls(lines, label)
    assert len(found) == expected_calls, (label, lines)
    for request, answer in found:
        questions = request["inputs"] if "inputs" in request else [request]
        answers = answer if isinstance(answer, list) else [answer]
        assert len(answers) == len(questions) and all(map(answer_is_a_span, questions, answers)), (request, answer)
        assert _spans(answer) == _spans(direct_answer(stack, request)), (label, answer)


def _spans(answer: Any) -> Any:
    if isinstance(answer, list):
        return [_spans(item) for item in answer]
    return answer["answer"], answer["start"], answer["end"], round(answer["score"], 4)


def test_local_mode_answers_with_requests_and_the_sdks_local_session(stack, tmp_path, no_egress):
    lines = run_notebook(
        tmp_path, {**no_egress, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"}, MODE="local", LOCAL_URL=stack.url
    )
    for label in ("local requests single", "local requests batch", "local predictor single", "local predictor batch"):
        assert_stack_answers(stack, lines, label)
    assert not [line for line in lines if line.startswith(("sagemaker ", "image:", "left behind"))]
    assert not (tmp_path / "docker.log").exists()  # local mode never builds, logs in or pushes
    # Section 7a: the timing of a request and the container's own count of what it answered.
    [timing] = [line for line in lines if line.startswith("server timing: ")]
    assert re.fullmatch(
        r"server timing: queue;dur=[0-9.]+, tokenise;dur=[0-9.]+, inference;dur=[0-9.]+, "
        r"encode;dur=[0-9.]+, total;dur=[0-9.]+",
        timing,
    )
    [counted] = [line for line in lines if line.startswith("metrics: ")]
    assert 'hf_serving_requests_total{route="/invocations",kind="inference",code="200",model="model"}' in counted


def test_sagemaker_mode_deploys_answers_transforms_and_cleans_up(aws, tmp_path, tiny_sentiment):
    lines = run_notebook(
        tmp_path,
        aws.env,
        MODE="sagemaker",
        REGION=REGION,
        ROLE=ROLE,
        MODEL_DIR=str(TINY_QA),
        ENDPOINT_NAME="qa-notebook",
        AUTOSCALING=True,
        POLL_S=1,
        MULTI_MODEL=True,
        MME_MODELS=f"qa={TINY_QA},sentiment={tiny_sentiment}",
    )
    image = f"{REGISTRY}/hf-serving:cpu"
    assert (tmp_path / "docker.log").read_text().splitlines() == [
        f"build -t {image} -f docker/Dockerfile .",
        f"login --username AWS --password-stdin {REGISTRY}",
        f"push {image}",
    ]
    assert (tmp_path / "docker.log.password").read_text() == "123456789012-auth-token"  # moto's token
    assert f"image: {image}" in lines, lines
    assert "model data: s3://sagemaker-us-east-1-123456789012/hf-serving-demo/model/model.tar.gz" in lines, lines
    assert "qa-notebook InService" in lines, lines
    for label in ("sagemaker predictor single", "sagemaker predictor batch", "sagemaker boto3 single"):
        assert_stack_answers(aws.stack, lines, label)
    # The multi-model endpoint: MultiDataModel's archives under one prefix, each loaded on its first invocation.
    assert "multi-model endpoint models: ['qa.tar.gz', 'sentiment.tar.gz']" in lines, lines
    assert_stack_answers(aws.stack, lines, "mme qa")  # the same weights as the single-model endpoint's
    [(review, labels)] = calls(lines, "mme sentiment")
    assert len(labels) == len(review["inputs"]) == 2
    assert all(label["label"] in ("NEGATIVE", "POSITIVE") and 0 < label["score"] <= 1 for label in labels)
    assert aws.shim.invoked == ["qa-notebook"] * 3 + ["qa-notebook-multi"] * 2
    # Two loads; the front's small memory budget (tests/deploy/conftest.py) may have made it unload one between.
    events = aws.shim.multi_model.events
    loads = [event for event in events if event.startswith("load ")]
    assert len(loads) == len(set(loads)) == 2, events  # each target loaded once, on its first invocation
    assert all(events[i + 1].startswith("unload ") for i, event in enumerate(events) if event.startswith("507 ")), (
        events
    )
    assert next(line for line in lines if line.startswith("transform job ")).endswith(": Completed")
    assert "autoscaling: [('endpoint/qa-notebook/variant/AllTraffic', 1, 2)]" in lines, lines
    # The SDK's deploy() sets no MetricsConfig, so the notebook reports the service's default for the endpoint config.
    assert "detailed observability: the service's default for new endpoint configs" in lines, lines
    assert "left behind: {'endpoints': [], 'endpoint configs': [], 'models': []}" in lines, lines
    assert aws.leftovers() == {"models": [], "endpoint configs": [], "endpoints": [], "autoscaling targets": []}
    leftover_files = aws.client("s3").list_objects_v2(Bucket="sagemaker-us-east-1-123456789012").get("Contents", [])
    assert leftover_files == []
