"""A SageMaker endpoint for this image without a notebook: create, wait, invoke, delete (boto3 only).

    python -m hf_serving deploy upload model.tar.gz s3://BUCKET/KEY/model.tar.gz
    python -m hf_serving deploy create NAME --image-uri URI --model-data s3://... --role ARN
        [--instance-type ml.m5.xlarge] [--instance-count 1] [--env KEY=VALUE ...]
        [--autoscaling-max N --autoscaling-target INVOCATIONS_PER_INSTANCE] [--no-wait]
        [--multi-model]   (a multi-model endpoint: --model-data is the S3 prefix holding the models' .tar.gz)
    python -m hf_serving deploy wait NAME
    python -m hf_serving deploy invoke NAME '{"question": "...", "context": "..."}'   (or @request.json)
        [--target-model sentiment.tar.gz]   (on a multi-model endpoint: the archive under the prefix)
    python -m hf_serving deploy delete NAME [--with-model-data]

The model, the endpoint configuration and the endpoint all take NAME, so `delete NAME` finds and removes
exactly what `create NAME` made (and the autoscaling it registered), even after a half-finished create.
Credentials and region come from boto3's usual chain (AWS_PROFILE, AWS_DEFAULT_REGION, ...); boto3 also honours
AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, which is how the tests aim it at moto and a local shim.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VARIANT = "AllTraffic"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


class DeployError(Exception):
    """A deployment step failed; the message says which and what AWS answered."""


@dataclass(frozen=True)
class EndpointSpec:
    name: str
    image_uri: str
    model_data: str
    role: str
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    env: dict[str, str] = field(default_factory=dict)
    autoscaling_max: int | None = None
    autoscaling_target: float | None = None  # invocations per instance per minute
    startup_timeout_s: int | None = None
    multi_model: bool = False  # Mode=MultiModel: model_data is a prefix, each invocation names its model
    # SageMaker's detailed observability: it scrapes the container's GET /metrics on 8080 into CloudWatch this often
    # (10, 30, 60, 120, 180, 240 or 300 s); None turns it off.
    metrics_publish_s: int | None = 60


class Deployer:
    """boto3 clients for SageMaker, its runtime, Application Auto Scaling and S3, and the steps on them."""

    def __init__(
        self,
        session: Any = None,
        region: str | None = None,
        say: Callable[[str], None] = lambda text: print(text, file=sys.stderr),
    ) -> None:
        if session is None:
            import boto3

            session = boto3.Session(region_name=region)
        self.sagemaker = session.client("sagemaker")
        self.runtime = session.client("sagemaker-runtime")
        self.autoscaling = session.client("application-autoscaling")
        self.s3 = session.client("s3")
        self.say = say

    def upload(self, path: Path, s3_uri: str) -> str:
        bucket, key = split_s3_uri(s3_uri)
        self.s3.upload_file(str(path), bucket, key)
        self.say(f"uploaded {path} to s3://{bucket}/{key}")
        return f"s3://{bucket}/{key}"

    def create(self, spec: EndpointSpec, wait: bool = True, poll_s: float = 30.0, timeout_s: float = 3600.0) -> None:
        """Model, endpoint configuration, endpoint; a failing step removes what this call had created."""
        created: list[Callable[[], None]] = []
        try:
            container = {"Image": spec.image_uri, "ModelDataUrl": spec.model_data, "Environment": spec.env}
            if spec.multi_model:
                container["Mode"] = "MultiModel"
            self.sagemaker.create_model(ModelName=spec.name, ExecutionRoleArn=spec.role, PrimaryContainer=container)
            created.append(lambda: self.sagemaker.delete_model(ModelName=spec.name))
            self.say(f"created model {spec.name} ({spec.image_uri}, {spec.model_data})")
            variant: dict[str, Any] = {
                "VariantName": VARIANT,
                "ModelName": spec.name,
                "InstanceType": spec.instance_type,
                "InitialInstanceCount": spec.instance_count,
                "InitialVariantWeight": 1.0,
            }
            if spec.startup_timeout_s is not None:
                variant["ContainerStartupHealthCheckTimeoutInSeconds"] = spec.startup_timeout_s
            self.sagemaker.create_endpoint_config(
                EndpointConfigName=spec.name,
                ProductionVariants=[variant],
                MetricsConfig=_metrics_config(spec.metrics_publish_s),
            )
            created.append(lambda: self.sagemaker.delete_endpoint_config(EndpointConfigName=spec.name))
            self.say(f"created endpoint config {spec.name} ({spec.instance_count} x {spec.instance_type})")
            self.sagemaker.create_endpoint(EndpointName=spec.name, EndpointConfigName=spec.name)
            self.say(f"creating endpoint {spec.name}")
        except Exception as exc:  # whatever failed (AWS, botocore, the network): undo, then report it
            for undo in reversed(created):
                undo()
            raise DeployError(f"creating {spec.name} failed (nothing left behind): {exc}") from exc
        if wait or spec.autoscaling_max is not None:
            self.wait(spec.name, poll_s, timeout_s)
        if spec.autoscaling_max is not None:
            self.enable_autoscaling(spec)

    def wait(self, name: str, poll_s: float = 30.0, timeout_s: float = 3600.0) -> None:
        """Until the endpoint is InService; DeployError with SageMaker's FailureReason if it fails."""
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            description = self.sagemaker.describe_endpoint(EndpointName=name)
            status = description["EndpointStatus"]
            if status != last:
                self.say(f"endpoint {name}: {status}")
                last = status
            if status == "InService":
                return
            if status in ("Failed", "OutOfService", "Deleting"):
                raise DeployError(
                    f"endpoint {name} is {status}: {description.get('FailureReason', 'no reason given')}"
                    f"; its logs are in CloudWatch under /aws/sagemaker/Endpoints/{name}; "
                    f"`deploy delete {name}` removes it"
                )
            if time.monotonic() > deadline:
                raise DeployError(f"endpoint {name} still {status} after {timeout_s:.0f} s")
            time.sleep(poll_s)

    def enable_autoscaling(self, spec: EndpointSpec) -> None:
        if spec.autoscaling_max is None or spec.autoscaling_target is None:
            raise DeployError("autoscaling needs both --autoscaling-max and --autoscaling-target")
        resource = f"endpoint/{spec.name}/variant/{VARIANT}"
        self.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=SCALABLE_DIMENSION,
            MinCapacity=spec.instance_count,
            MaxCapacity=spec.autoscaling_max,
        )
        self.autoscaling.put_scaling_policy(
            PolicyName=f"{spec.name}-invocations",
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=SCALABLE_DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": spec.autoscaling_target,
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            },
        )
        self.say(
            f"autoscaling {spec.name}: {spec.instance_count}-{spec.autoscaling_max} instances, "
            f"target {spec.autoscaling_target:g} invocations per instance per minute"
        )

    def invoke(
        self, name: str, body: bytes, content_type: str = "application/json", target_model: str | None = None
    ) -> Any:
        from botocore.exceptions import ClientError

        extra = {"TargetModel": target_model} if target_model else {}
        try:
            response = self.runtime.invoke_endpoint(
                EndpointName=name, Body=body, ContentType=content_type, Accept="application/json", **extra
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            original = exc.response.get("OriginalMessage") or error.get("Message", "")
            status = exc.response.get("OriginalStatusCode", exc.response["ResponseMetadata"].get("HTTPStatusCode"))
            raise DeployError(f"invoking {name}: {error.get('Code', 'error')} ({status}): {original}") from None
        return json.loads(response["Body"].read())

    def delete(self, name: str, with_model_data: bool = False) -> list[str]:
        """Autoscaling, endpoint, endpoint configuration and model named NAME: whichever exist."""
        removed = [f"autoscaling {resource}" for resource in self._remove_autoscaling(name)]
        model_data = None
        if with_model_data:
            model = _unless_missing(self.sagemaker.describe_model, ModelName=name)
            model_data = model["PrimaryContainer"].get("ModelDataUrl") if model else None
        for kind, delete, key in (
            ("endpoint", self.sagemaker.delete_endpoint, {"EndpointName": name}),
            ("endpoint config", self.sagemaker.delete_endpoint_config, {"EndpointConfigName": name}),
            ("model", self.sagemaker.delete_model, {"ModelName": name}),
        ):
            if _unless_missing(delete, **key) is not None:
                removed.append(f"{kind} {name}")
        if model_data:
            bucket, key_name = split_s3_uri(model_data)
            self.s3.delete_object(Bucket=bucket, Key=key_name)
            removed.append(f"model data {model_data}")
        self.say(f"deleted: {', '.join(removed)}" if removed else f"deleted: nothing named {name} was left")
        return removed

    def _remove_autoscaling(self, name: str) -> list[str]:
        targets = self.autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[f"endpoint/{name}/variant/{VARIANT}"]
        )["ScalableTargets"]
        for target in targets:
            where = {
                "ServiceNamespace": "sagemaker",
                "ResourceId": target["ResourceId"],
                "ScalableDimension": target["ScalableDimension"],
            }
            policies = self.autoscaling.describe_scaling_policies(
                ServiceNamespace="sagemaker", ResourceId=target["ResourceId"]
            )["ScalingPolicies"]
            for policy in policies:
                self.autoscaling.delete_scaling_policy(PolicyName=policy["PolicyName"], **where)
            self.autoscaling.deregister_scalable_target(**where)
        return [target["ResourceId"] for target in targets]


def _unless_missing(call: Callable[..., Any], **key: str) -> Any:
    """call's answer, or None when SageMaker says that the resource does not exist."""
    from botocore.exceptions import ClientError

    try:
        return call(**key)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") in ("ValidationException", "ValidationError") and "Could not find" in error.get(
            "Message", ""
        ):
            return None
        raise


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:] or uri.endswith("/"):
        raise DeployError(f"{uri!r} is not an S3 object URI (s3://BUCKET/KEY)")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"--env {pair!r} is not KEY=VALUE")
        env[key] = value
    return env


def _read_body(text: str) -> bytes:
    return Path(text[1:]).read_bytes() if text.startswith("@") else text.encode()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m hf_serving deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", help="AWS region (else boto3's: AWS_DEFAULT_REGION, the profile)")
    commands = parser.add_subparsers(dest="command", required=True)
    upload = commands.add_parser("upload", help="copy model.tar.gz to S3")
    upload.add_argument("archive", type=Path)
    upload.add_argument("s3_uri", help="s3://BUCKET/KEY")
    create = commands.add_parser("create", help="model, endpoint config and endpoint, all named NAME")
    create.add_argument("name")
    create.add_argument("--image-uri", required=True, help="the image in ECR: ACCOUNT.dkr.ecr.REGION.amazonaws.com/...")
    create.add_argument(
        "--model-data", required=True, help="s3://.../model.tar.gz; with --multi-model the prefix s3://.../models/"
    )
    create.add_argument("--role", required=True, help="an IAM role ARN that SageMaker may assume")
    create.add_argument("--instance-type", default="ml.m5.xlarge")
    create.add_argument("--instance-count", type=int, default=1)
    create.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="container environment")
    create.add_argument("--autoscaling-max", type=int, help="scale between --instance-count and this many")
    create.add_argument("--autoscaling-target", type=float, help="invocations per instance per minute to aim at")
    create.add_argument("--startup-timeout", type=int, help="seconds the container may take to pass /ping (60-3600)")
    create.add_argument(
        "--metrics-publish-s",
        type=int,
        default=60,
        choices=(10, 30, 60, 120, 180, 240, 300),
        help="detailed observability: how often SageMaker publishes /metrics to CloudWatch",
    )
    create.add_argument(
        "--no-detailed-observability",
        action="store_true",
        help="do not scrape the container's /metrics (MetricsConfig.EnableDetailedObservability)",
    )
    create.add_argument(
        "--multi-model",
        action="store_true",
        help="a multi-model endpoint (Mode=MultiModel): models loaded on first use",
    )
    create.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the endpoint is Creating (autoscaling, which needs InService, still waits)",
    )
    create.add_argument("--poll", type=float, default=30.0, help=argparse.SUPPRESS)
    wait = commands.add_parser("wait", help="until the endpoint is InService")
    wait.add_argument("name")
    wait.add_argument("--poll", type=float, default=30.0, help=argparse.SUPPRESS)
    invoke = commands.add_parser("invoke", help="POST a JSON body to the endpoint and print the answer")
    invoke.add_argument("name")
    invoke.add_argument("body", help="the JSON request, or @FILE")
    invoke.add_argument("--target-model", help="a multi-model endpoint's model: its archive under the prefix")
    delete = commands.add_parser("delete", help="remove what `create NAME` made")
    delete.add_argument("name")
    delete.add_argument("--with-model-data", action="store_true", help="also delete the model's model.tar.gz")
    return parser


def _metrics_config(publish_s: int | None) -> dict[str, Any]:
    """Detailed observability: /metrics on 8080 is SageMaker's default path, so no ContainerMetricsConfig."""
    if publish_s is None:
        return {"EnableDetailedObservability": False}
    return {"EnableDetailedObservability": True, "MetricPublishFrequencyInSeconds": publish_s}


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        deployer = Deployer(region=args.region)
        if args.command == "upload":
            print(deployer.upload(args.archive, args.s3_uri))
        elif args.command == "create":
            if (args.autoscaling_max is None) != (args.autoscaling_target is None):
                raise DeployError("give --autoscaling-max and --autoscaling-target together")
            if args.multi_model and not (args.model_data.startswith("s3://") and args.model_data.endswith("/")):
                raise DeployError("--multi-model needs --model-data to be an S3 prefix ending in '/'")
            spec = EndpointSpec(
                args.name,
                args.image_uri,
                args.model_data,
                args.role,
                args.instance_type,
                args.instance_count,
                _parse_env(args.env),
                args.autoscaling_max,
                args.autoscaling_target,
                args.startup_timeout,
                args.multi_model,
                None if args.no_detailed_observability else args.metrics_publish_s,
            )
            deployer.create(spec, wait=not args.no_wait, poll_s=args.poll)
        elif args.command == "wait":
            deployer.wait(args.name, poll_s=args.poll)
        elif args.command == "invoke":
            print(json.dumps(deployer.invoke(args.name, _read_body(args.body), target_model=args.target_model)))
        else:
            deployer.delete(args.name, with_model_data=args.with_model_data)
    except DeployError as exc:
        print(f"deploy: {exc}", file=sys.stderr)
        return 1
    return 0
