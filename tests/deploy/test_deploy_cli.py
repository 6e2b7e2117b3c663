"""`python -m hf_serving deploy` against moto's SageMaker control plane; invocations reach the real stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

pytest.importorskip("moto", reason="moto lives in .venv-deploy: run make deploy-test")

from hf_serving.__main__ import main as hf_serving_main
from hf_serving.tools.deploy import Deployer, DeployError, EndpointSpec
from hf_serving.tools.packaging import write_archive
from tests.deploy.bed import ROLE, AwsBed, answer_is_a_span, direct_answer
from tests.support.stack import TINY_QA

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hf-serving:cpu"
QUESTION = {
    "question": "Where is the Eiffel Tower?",
    "context": "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
}
BATCH = {
    "inputs": [
        QUESTION,
        {"question": "Who wrote Hamlet?", "context": "Hamlet is a tragedy written by William Shakespeare."},
    ]
}
NOTHING = {"models": [], "endpoint configs": [], "endpoints": [], "autoscaling targets": []}


def deploy(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = hf_serving_main(["deploy", *args])
    out, err = capsys.readouterr()
    return code, out, err


def uploaded_model(aws: AwsBed, tmp_path: Path) -> str:
    aws.client("s3").create_bucket(Bucket="models")
    archive = tmp_path / "model.tar.gz"
    write_archive(TINY_QA, archive)
    return Deployer().upload(archive, "s3://models/qa/model.tar.gz")


def same_answers(got: Any, expected: Any) -> bool:
    if isinstance(got, list):
        return isinstance(expected, list) and len(got) == len(expected) and all(map(same_answers, got, expected))
    return {k: got[k] for k in ("answer", "start", "end")} == {
        k: expected[k] for k in ("answer", "start", "end")
    } and got["score"] == pytest.approx(expected["score"], rel=1e-4)


def test_upload_create_invoke_delete_leaves_nothing_behind(aws, tmp_path, capsys):
    aws.client("s3").create_bucket(Bucket="models")
    archive = tmp_path / "model.tar.gz"
    write_archive(TINY_QA, archive)
    code, out, err = deploy(capsys, "upload", str(archive), "s3://models/qa/model.tar.gz")
    assert (code, out.strip()) == (0, "s3://models/qa/model.tar.gz"), err

    code, out, err = deploy(
        capsys,
        "create",
        "qa",
        "--image-uri",
        IMAGE,
        "--model-data",
        "s3://models/qa/model.tar.gz",
        "--role",
        ROLE,
        "--instance-type",
        "ml.c5.xlarge",
        "--instance-count",
        "1",
        "--env",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT=60",
        "--env",
        "MODEL_DTYPE=float32",
        "--autoscaling-max",
        "3",
        "--autoscaling-target",
        "70",
        "--startup-timeout",
        "600",
        "--poll",
        "0.05",
    )
    assert code == 0, err
    assert "endpoint qa: InService" in err and "autoscaling qa: 1-3 instances" in err
    sagemaker = aws.client("sagemaker")
    container = sagemaker.describe_model(ModelName="qa")["PrimaryContainer"]
    assert container["Image"] == IMAGE and container["ModelDataUrl"] == "s3://models/qa/model.tar.gz"
    assert container["Environment"] == {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "60", "MODEL_DTYPE": "float32"}
    [variant] = sagemaker.describe_endpoint_config(EndpointConfigName="qa")["ProductionVariants"]
    assert (variant["ModelName"], variant["InstanceType"], variant["InitialInstanceCount"]) == ("qa", "ml.c5.xlarge", 1)
    autoscaling = aws.client("application-autoscaling")
    [target] = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        "endpoint/qa/variant/AllTraffic",
        1,
        3,
    )
    [policy] = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70

    code, out, err = deploy(capsys, "invoke", "qa", json.dumps(QUESTION))
    assert code == 0, err
    answer = json.loads(out)
    assert answer_is_a_span(QUESTION, answer) and same_answers(answer, direct_answer(aws.stack, QUESTION))
    request_file = tmp_path / "batch.json"
    request_file.write_text(json.dumps(BATCH))
    code, out, err = deploy(capsys, "invoke", "qa", f"@{request_file}")
    assert code == 0, err
    answers = json.loads(out)
    assert all(answer_is_a_span(q, a) for q, a in zip(BATCH["inputs"], answers, strict=True))
    assert same_answers(answers, direct_answer(aws.stack, BATCH))
    assert aws.shim.invoked == ["qa", "qa"]

    code, out, err = deploy(capsys, "delete", "qa", "--with-model-data")
    assert code == 0, err
    assert (
        "deleted: autoscaling endpoint/qa/variant/AllTraffic, endpoint qa, endpoint config qa, model qa, "
        "model data s3://models/qa/model.tar.gz"
    ) in err
    assert aws.leftovers() == NOTHING
    assert aws.client("s3").list_objects_v2(Bucket="models").get("Contents", []) == []
    code, out, err = deploy(capsys, "delete", "qa")
    assert code == 0 and "deleted: nothing named qa was left" in err


def test_a_multi_model_endpoint_loads_each_target_on_first_use_and_unloads_on_507(
    aws, tmp_path, capsys, tiny_sentiment
):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="models")
    qa_archive, sentiment_archive = tmp_path / "qa.tar.gz", tmp_path / "sentiment.tar.gz"
    write_archive(TINY_QA, qa_archive)
    write_archive(tiny_sentiment, sentiment_archive)
    # More copies of the QA model than the container's 700 MB budget holds (tests/deploy/conftest.py).
    qa_targets = [f"qa-{index}.tar.gz" for index in range(8)]
    for target in qa_targets:
        s3.upload_file(str(qa_archive), "models", f"mme/{target}")
    s3.upload_file(str(sentiment_archive), "models", "mme/sentiment.tar.gz")
    code, out, err = deploy(
        capsys,
        "create",
        "multi",
        "--image-uri",
        IMAGE,
        "--model-data",
        "s3://models/mme/",
        "--role",
        ROLE,
        "--multi-model",
        "--poll",
        "0.05",
    )
    assert code == 0, err
    container = aws.client("sagemaker").describe_model(ModelName="multi")["PrimaryContainer"]
    assert (container["Mode"], container["ModelDataUrl"]) == ("MultiModel", "s3://models/mme/")

    code, out, err = deploy(
        capsys, "invoke", "multi", json.dumps({"inputs": "what a day"}), "--target-model", "sentiment.tar.gz"
    )
    assert code == 0, err
    [label] = json.loads(out)
    assert label["label"] in ("NEGATIVE", "POSITIVE") and 0 < label["score"] <= 1
    expected = direct_answer(aws.stack, QUESTION)  # the same weights, served by the single-model stack
    for target in qa_targets:
        code, out, err = deploy(capsys, "invoke", "multi", json.dumps(QUESTION), "--target-model", target)
        assert code == 0, err
        assert same_answers(json.loads(out), expected)
    events = aws.shim.multi_model.events
    assert any(event.startswith("507 ") for event in events), events
    assert events.index(next(e for e in events if e.startswith("507 "))) + 1 < len(events)
    assert all(events[i + 1].startswith("unload ") for i, e in enumerate(events) if e.startswith("507 "))
    # What the container holds is what the front believes it holds.
    listed = requests.get(f"{aws.mme_stack.url}/models", timeout=10).json()["models"]
    assert sorted(m["modelName"] for m in listed) == sorted(aws.shim.multi_model.loaded)

    code, out, err = deploy(capsys, "invoke", "multi", json.dumps(QUESTION), "--target-model", "missing.tar.gz")
    assert code == 1 and "ValidationError" in err and "missing.tar.gz" in err
    code, out, err = deploy(capsys, "invoke", "multi", json.dumps(QUESTION))
    assert code == 1 and "TargetModel is required" in err
    Deployer().delete("multi")
    assert aws.leftovers() == NOTHING


def test_a_failed_create_leaves_nothing_behind(aws, tmp_path, capsys):
    model_data = uploaded_model(aws, tmp_path)
    code, out, err = deploy(
        capsys,
        "create",
        "broken",
        "--image-uri",
        IMAGE,
        "--model-data",
        model_data,
        "--role",
        ROLE,
        "--instance-type",
        "ml.no-such-type",
        "--poll",
        "0.05",
    )
    assert code == 1 and out == ""
    assert "deploy: creating broken failed (nothing left behind)" in err and "ml.no-such-type" in err
    assert aws.leftovers() == NOTHING


def test_invoke_reports_the_containers_own_error(aws, tmp_path, capsys):
    spec = EndpointSpec("qa-errors", IMAGE, uploaded_model(aws, tmp_path), ROLE)
    Deployer().create(spec, poll_s=0.05)
    capsys.readouterr()
    code, out, err = deploy(capsys, "invoke", "qa-errors", json.dumps({"question": "Who?"}))
    assert code == 1 and out == ""
    assert "deploy: invoking qa-errors: ModelError (400)" in err and "context is missing" in err
    assert aws.shim.invoked == ["qa-errors"]
    Deployer().delete("qa-errors")
    assert aws.leftovers() == NOTHING


def test_invoke_of_an_unknown_endpoint(aws, capsys):
    code, out, err = deploy(capsys, "invoke", "no-such-endpoint", json.dumps(QUESTION))
    assert code == 1 and out == ""
    assert "ValidationError" in err and "no-such-endpoint" in err
    assert aws.shim.invoked == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["create", "x", "--image-uri", IMAGE, "--model-data", "s3://b/k", "--role", ROLE, "--env", "NOEQUALS"],
            "--env 'NOEQUALS' is not KEY=VALUE",
        ),
        (
            ["create", "x", "--image-uri", IMAGE, "--model-data", "s3://b/k", "--role", ROLE, "--autoscaling-max", "2"],
            "give --autoscaling-max and --autoscaling-target together",
        ),
        (
            ["upload", "model.tar.gz", "https://example.com/model.tar.gz"],
            "'https://example.com/model.tar.gz' is not an S3 object URI",
        ),
        (
            [
                "create",
                "x",
                "--image-uri",
                IMAGE,
                "--model-data",
                "s3://b/model.tar.gz",
                "--role",
                ROLE,
                "--multi-model",
            ],
            "--multi-model needs --model-data to be an S3 prefix ending in '/'",
        ),
    ],
)
def test_argument_errors_name_the_argument(aws, capsys, args, message):
    code, out, err = deploy(capsys, *args)
    assert (code, out) == (1, "")
    assert message in err
    assert aws.leftovers() == NOTHING


class FakeSageMaker:
    def __init__(self, statuses: list[dict[str, str]]) -> None:
        self.statuses = statuses

    def describe_endpoint(self, EndpointName: str) -> dict[str, str]:
        return self.statuses.pop(0)


class FakeSession:
    def __init__(self, sagemaker: FakeSageMaker) -> None:
        self.sagemaker = sagemaker

    def client(self, service: str) -> Any:
        return self.sagemaker if service == "sagemaker" else object()


def test_wait_reports_sagemakers_failure_reason():
    said: list[str] = []
    fake = FakeSageMaker(
        [
            {"EndpointStatus": "Creating"},
            {"EndpointStatus": "Creating"},
            {"EndpointStatus": "Failed", "FailureReason": "The primary container did not pass the ping health check."},
        ]
    )
    with pytest.raises(DeployError) as failure:
        Deployer(session=FakeSession(fake), say=said.append).wait("qa", poll_s=0.0)
    assert "endpoint qa is Failed: The primary container did not pass the ping health check." in str(failure.value)
    assert "/aws/sagemaker/Endpoints/qa" in str(failure.value)
    assert said == ["endpoint qa: Creating", "endpoint qa: Failed"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), {"EnableDetailedObservability": True, "MetricPublishFrequencyInSeconds": 60}),
        (("--metrics-publish-s", "10"), {"EnableDetailedObservability": True, "MetricPublishFrequencyInSeconds": 10}),
        (("--no-detailed-observability",), {"EnableDetailedObservability": False}),
    ],
)
def test_detailed_observability_scrapes_metrics_unless_turned_off(aws, tmp_path, capsys, monkeypatch, args, expected):
    """moto keeps no MetricsConfig: what boto3 sends is read on its way out."""
    import botocore.client

    sent: list[dict] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self, operation, params):
        if operation == "CreateEndpointConfig":
            sent.append(params)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    model_data = uploaded_model(aws, tmp_path)
    code, _, err = deploy(
        capsys, "create", "qa", "--image-uri", IMAGE, "--model-data", model_data, "--role", ROLE, "--no-wait", *args
    )
    assert code == 0, err
    [params] = sent
    assert params["MetricsConfig"] == expected
