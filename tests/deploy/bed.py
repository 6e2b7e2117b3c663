"""What the deployment tests share: moto's AWS with the shim in front of the real stack, and answer checks."""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass
from typing import Any

import requests

from tests.support.stack import Stack

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/hf-serving-test"
SDK_CONFIG = "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"


class ProxyTrap:
    """HTTP(S)_PROXY for the code under test: it lets nothing through and remembers who tried.

    A call that would leave the machine (AWS itself, telemetry, a package index) fails at once instead, and
    the tests assert that none was even attempted. NO_PROXY keeps loopback (the stack, moto, the shim) direct.
    """

    def __init__(self) -> None:
        self.attempts: list[str] = []
        trap = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                trap.attempts.append(self.rfile.readline(512).decode(errors="replace").strip())
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="proxy-trap", daemon=True).start()

    def env(self) -> dict[str, str]:
        return {
            "HTTP_PROXY": self.url,
            "HTTPS_PROXY": self.url,
            "http_proxy": self.url,
            "https_proxy": self.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class AwsBed:
    moto_url: str
    shim: Any  # tests.deploy.shim.RuntimeShim
    stack: Stack
    mme_stack: Stack  # SAGEMAKER_MULTI_MODEL=true, behind the shim's multi-model endpoints
    env: dict[str, str]  # what a client process (the notebook's kernel) needs to use this bed

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def leftovers(self) -> dict[str, list[str]]:
        """Every SageMaker model, endpoint config, endpoint and autoscaling target moto still holds."""
        sagemaker = self.client("sagemaker")
        targets = self.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
        return {
            "models": [m["ModelName"] for m in sagemaker.list_models()["Models"]],
            "endpoint configs": [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]],
            "endpoints": [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]],
            "autoscaling targets": [t["ResourceId"] for t in targets["ScalableTargets"]],
        }

    def reset(self) -> None:
        requests.post(f"{self.moto_url}/moto-api/reset", timeout=10).raise_for_status()
        self.shim.invoked.clear()
        front = self.shim.multi_model
        for name in list(front.loaded):  # a new account: the multi-model container holds nothing either
            requests.delete(f"{self.mme_stack.url}/models/{name}", timeout=60)
        front.loaded.clear()
        front.events.clear()


def endpoint_container(bed: AwsBed, name: str) -> dict[str, Any] | None:
    """The PrimaryContainer of the model behind an endpoint (its Mode says whether it is a multi-model one)."""
    from botocore.exceptions import ClientError

    sagemaker = bed.client("sagemaker")
    try:
        config = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
        variant = sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"][0]
        return dict(sagemaker.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"])
    except (ClientError, KeyError, IndexError):
        return None


def fetch_s3(bed: AwsBed, uri: str) -> bytes:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bytes(bed.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def endpoint_status(bed: AwsBed, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return str(bed.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointStatus"])
    except ClientError:
        return None


def answer_is_a_span(question: dict[str, str], answer: dict[str, Any]) -> bool:
    """A real answer from the QA model: a non-empty span of the context at the offsets it gives."""
    return (
        isinstance(answer, dict)
        and bool(answer.get("answer"))
        and question["context"][answer["start"] : answer["end"]] == answer["answer"]
    )


def direct_answer(stack: Stack, body: object) -> Any:
    response = stack.invoke(body)
    assert response.status_code == 200, response.text
    return response.json()
