"""A load test of the container with locust (load/README.md): each user POSTs JSON bodies one after another.

Two targets, chosen by the host:
  --host http://127.0.0.1:8080        the container itself (or anything in front of it): POST /invocations,
                                      or /models/<name>/invoke with --model on a multi-model endpoint
  --host sagemaker://<endpoint-name>  a SageMaker endpoint through boto3's invoke_endpoint (SigV4 signed by boto3,
  (or ENDPOINT_NAME, no --host)       AWS's usual credentials and region), TargetModel with --model

Options (each also an environment variable): --payload/PAYLOAD qa|sentiment|embeddings or a JSON file holding a
list of bodies; --model/TARGET_MODEL; --accept-status/ACCEPT_STATUS, codes that count as successes besides 2xx
(say 429,503 when admission control's refusals are expected); --api-key/SERVE_API_KEY, sent as X-Api-Key.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gevent
from locust import User, constant, events, task
from locust.clients import HttpSession
from locust.exception import StopUser
from locust.stats import CSV_STATS_INTERVAL_SEC

# One body per task of the container; a list of several is cycled through.
PAYLOADS: dict[str, list[Any]] = {
    "qa": [{"question": "Which port?", "context": "The container listens on port 8080."}],
    "sentiment": [{"inputs": "I am thrilled with this container!"}],
    "embeddings": [{"inputs": ["The container listens on port 8080.", "Requests go to /invocations as JSON."]}],
}
SAGEMAKER_SCHEME = "sagemaker://"


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    parser.add_argument(
        "--payload",
        env_var="PAYLOAD",
        default="qa",
        help="qa, sentiment, embeddings, or a JSON file holding a list of request bodies",
    )
    parser.add_argument(
        "--model",
        env_var="TARGET_MODEL",
        default="",
        help="a model of a multi-model endpoint: /models/<name>/invoke, or TargetModel on SageMaker",
    )
    parser.add_argument(
        "--accept-status",
        env_var="ACCEPT_STATUS",
        default="",
        help="comma-separated status codes counted as successes besides 2xx, e.g. 429,503",
    )
    parser.add_argument(
        "--endpoint-name",
        env_var="ENDPOINT_NAME",
        default="",
        help="a SageMaker endpoint (the same as --host sagemaker://<name>)",
    )
    parser.add_argument(
        "--api-key",
        env_var="SERVE_API_KEY",
        default="",
        help="sent as X-Api-Key, for a container started with SERVE_API_KEY",
    )


@events.init.add_listener
def check_options(environment: Any, **_kwargs: Any) -> None:
    """A payload that cannot be read, or no target, stops the run before it starts, not each user as it starts."""
    options = environment.parsed_options
    if options is None:  # an Environment made in code (the tests)
        return
    try:
        load_bodies(options.payload)
    except (OSError, ValueError) as error:
        sys.exit(f"load/locustfile.py: --payload {options.payload}: {error}")
    if options.headless and not environment.host and not options.endpoint_name:  # the web UI asks for a host
        sys.exit("load/locustfile.py: no target: --host http://... or sagemaker://<endpoint-name>, or ENDPOINT_NAME")


@events.init.add_listener
def write_final_csv(environment: Any, **_kwargs: Any) -> None:
    # locust rewrites its CSV files once a second and not again at the end, so they missed the requests of the
    # last second (locustio/locust#2299, #1806); one more beat of its writer, after the users stopped, writes
    # the totals that the console and the HTML report show.
    if getattr(environment.parsed_options, "csv_prefix", None):
        environment.events.quit.add_listener(lambda **_: gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2))


def load_bodies(payload: str) -> list[bytes]:
    """The request bodies, serialised once: the client's JSON encoding stays out of the measured time."""
    if payload in PAYLOADS:
        bodies = PAYLOADS[payload]
    else:
        bodies = json.loads(Path(payload).read_text())
        if not isinstance(bodies, list) or not bodies:
            raise ValueError(f"{payload} must hold a non-empty JSON list of request bodies")
    return [json.dumps(body).encode() for body in bodies]


class InvokeError(Exception):
    pass


def failure_reason(status: int, text: str) -> str:
    """The status and the container's error code and message, not its request id: locust counts failures by this
    text, so a reason unique to each request would make one row of locust_failures.csv per request."""
    try:
        error = json.loads(text)["error"]
        return f"{status} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{status}: {text[:200]}"


def accepted_codes(option: str) -> set[int]:
    return {int(code) for code in option.replace(" ", "").split(",") if code}


def endpoint_name(host: str | None, option: str) -> str:
    if host and host.startswith(SAGEMAKER_SCHEME):
        return host.removeprefix(SAGEMAKER_SCHEME).strip("/")
    return option if not host else ""


def sagemaker_client() -> Any:
    import boto3  # only the SageMaker mode needs boto3 (it is in .venv, with sagemaker-inference)
    from botocore.config import Config

    # No retries: a throttled or failed call is a failure to count, not one to hide in a longer latency.
    return boto3.client("sagemaker-runtime", config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


class InvokeUser(User):
    # Closed loop: each user sends its next request as soon as its last one is answered, so USERS is the
    # concurrency the container sees.
    wait_time = constant(0)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.bodies = itertools.cycle(load_bodies(options.payload))
        self.accept = accepted_codes(options.accept_status)
        self.model = options.model
        self.endpoint = endpoint_name(self.host, options.endpoint_name)
        if self.endpoint:
            self.sagemaker = sagemaker_client()
        elif self.host:
            self.client = HttpSession(base_url=self.host, request_event=self.environment.events.request, user=self)
            self.client.trust_env = False  # as locust's HttpUser: no proxy from the environment on the way
            self.headers = {"Content-Type": "application/json"}
            if options.api_key:
                self.headers["X-Api-Key"] = options.api_key
            self.path = f"/models/{quote(self.model, safe='')}/invoke" if self.model else "/invocations"
        else:
            raise StopUser("no target: --host http://... or sagemaker://<endpoint-name>, or ENDPOINT_NAME")

    @task
    def invoke(self) -> None:
        body = next(self.bodies)
        if self.endpoint:
            self.invoke_endpoint(body)
        else:
            self.post(body)

    def post(self, body: bytes) -> None:
        with self.client.post(self.path, data=body, headers=self.headers, catch_response=True) as response:
            if response.status_code == 0:
                response.failure(response.error)  # no answer at all (refused, reset, timed out)
            elif 200 <= response.status_code < 300 or response.status_code in self.accept:
                response.success()
            else:
                response.failure(failure_reason(response.status_code, response.text))

    def invoke_endpoint(self, body: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        arguments: dict[str, Any] = {
            "EndpointName": self.endpoint,
            "ContentType": "application/json",
            "Accept": "application/json",
            "Body": body,
        }
        if self.model:
            arguments["TargetModel"] = self.model
        name = f"{self.endpoint}/{self.model}" if self.model else self.endpoint
        exception: Exception | None = None
        length = 0
        start = time.perf_counter()
        try:
            response = self.sagemaker.invoke_endpoint(**arguments)
            length = len(response["Body"].read())  # the body is streamed: read it inside the measured time
        except ClientError as error:
            # The container's own non-2xx arrives as ModelError (424) with OriginalStatusCode and OriginalMessage;
            # SageMaker's refusals (throttling, validation, no such endpoint) carry their own status and message.
            if "OriginalStatusCode" in error.response:
                status = int(error.response["OriginalStatusCode"])
                reason = failure_reason(status, error.response.get("OriginalMessage", ""))
            else:
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                details = error.response.get("Error", {})
                reason = f"{status} {details.get('Code')}: {details.get('Message')}"
            if status not in self.accept:
                exception = InvokeError(reason)
        except BotoCoreError as error:  # no answer at all: connection, timeout, credentials
            exception = error
        self.environment.events.request.fire(
            request_type="invoke_endpoint",
            name=name,
            response_time=(time.perf_counter() - start) * 1000,
            response_length=length,
            exception=exception,
            context=self.context(),
        )
