"""SageMaker's runtime API in front of the real stack, for tests that run against moto.

moto mocks the control plane (models, endpoint configs, endpoints) but answers invoke_endpoint with canned
data. This shim answers POST /endpoints/{name}/invocations as SageMaker does: an endpoint that moto does not
know, or that is not InService, gets SageMaker's ValidationError; otherwise the body and headers go to the
stack's /invocations, and a non-2xx answer from the container comes back as SageMaker's 424 ModelError
(OriginalStatusCode, OriginalMessage). boto3 reaches it through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME.

A multi-model endpoint (its model's container has Mode=MultiModel) goes to the multi-model stack, as SageMaker's
front does it: the invocation's TargetModel is an object under the model's ModelDataUrl prefix; on its first use
it is fetched from S3, unpacked under a models directory and loaded with POST /models; a 507 there unloads the
least recently used model and retries; then POST /models/{name}/invoke, with the target in
X-Amzn-SageMaker-Target-Model.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

INVOCATIONS = re.compile(r"^/endpoints/([A-Za-z0-9-]{1,63})/invocations$")
FORWARDED_HEADERS = ("Content-Type", "Accept", "X-Amzn-SageMaker-Custom-Attributes")


class MultiModelFront:
    """SageMaker's model cache in front of a multi-model container: which targets are loaded, least recent first."""

    def __init__(self, stack_url: str, models_dir: Path, fetch: Callable[[str], bytes]) -> None:
        self.stack_url = stack_url
        self.models_dir = models_dir
        self.fetch = fetch  # the bytes of an s3:// object
        self.loaded: OrderedDict[str, str] = OrderedDict()  # model name -> target, least recently used first
        self.events: list[str] = []  # "load NAME", "unload NAME", "507 NAME"
        self.lock = threading.Lock()

    def invoke(self, prefix: str, target: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        name = hashlib.sha256(f"{prefix}{target}".encode()).hexdigest()[:32]  # opaque, as SageMaker's are
        with self.lock:
            if name not in self.loaded:
                self._load(name, prefix + target)
                self.loaded[name] = target
            self.loaded.move_to_end(name)
        return requests.post(
            f"{self.stack_url}/models/{name}/invoke",
            data=body,
            timeout=70,
            headers={**headers, "X-Amzn-SageMaker-Target-Model": target},
        )

    def _load(self, name: str, uri: str) -> None:
        model_dir = self.models_dir / name / "model"
        if not model_dir.is_dir():
            try:
                data = self.fetch(uri)
            except Exception as exc:  # noqa: BLE001 - SageMaker answers any failed download this way
                raise LoadFailed(None, f"Failed to download model data for {uri}: {exc}") from None
            model_dir.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                archive.extractall(model_dir, filter="data")
        while True:
            response = requests.post(
                f"{self.stack_url}/models", json={"model_name": name, "url": str(model_dir)}, timeout=400
            )
            if response.status_code == 507 and self.loaded:
                evicted, _ = self.loaded.popitem(last=False)
                self.events += [f"507 {name}", f"unload {evicted}"]
                requests.delete(f"{self.stack_url}/models/{evicted}", timeout=60).raise_for_status()
                continue
            if response.status_code not in (200, 409):
                raise LoadFailed(response)
            self.events.append(f"load {name}")
            return


class LoadFailed(Exception):
    """The container refused the load (`response`), or the target could not be fetched (`response` is None)."""

    def __init__(self, response: requests.Response | None, message: str = "") -> None:
        super().__init__(message or (response.text if response is not None else ""))
        self.response = response


class RuntimeShim:
    """Serves on 127.0.0.1 (a free port) until stop(); `invoked` lists the endpoint names it forwarded for."""

    def __init__(
        self,
        stack_url: str,
        endpoint_status: Callable[[str], str | None],
        container_of: Callable[[str], dict[str, Any] | None] = lambda name: None,
        multi_model: MultiModelFront | None = None,
    ) -> None:
        self.stack_url = stack_url
        self.endpoint_status = endpoint_status  # None when the control plane does not know the endpoint
        self.container_of = container_of  # the endpoint's model's PrimaryContainer, from the control plane
        self.multi_model = multi_model
        self.invoked: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="runtime-shim", daemon=True)

    def start(self) -> RuntimeShim:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        shim = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                match = INVOCATIONS.match(self.path.split("?")[0])
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if match is None:
                    self._answer(
                        404, {"__type": "UnknownOperationException", "message": self.path}, "UnknownOperationException"
                    )
                    return
                name = match.group(1)
                status = shim.endpoint_status(name)
                if status != "InService":
                    reason = "not found" if status is None else f"is {status}, not InService"
                    self._answer(
                        400, {"__type": "ValidationError", "message": f"Endpoint {name} {reason}."}, "ValidationError"
                    )
                    return
                shim.invoked.append(name)
                headers = {h: v for h in FORWARDED_HEADERS if (v := self.headers.get(h)) is not None}
                container = shim.container_of(name) or {}
                target = self.headers.get("X-Amzn-SageMaker-Target-Model")
                if container.get("Mode") == "MultiModel":
                    if not target or shim.multi_model is None:
                        self._answer(
                            400,
                            {
                                "__type": "ValidationError",
                                "message": "TargetModel is required for a multi-model endpoint.",
                            },
                            "ValidationError",
                        )
                        return
                    try:
                        upstream = shim.multi_model.invoke(container["ModelDataUrl"], target, body, headers)
                    except LoadFailed as failed:
                        if failed.response is None:
                            self._answer(400, {"__type": "ValidationError", "message": str(failed)}, "ValidationError")
                            return
                        upstream = failed.response
                else:
                    upstream = requests.post(f"{shim.stack_url}/invocations", data=body, headers=headers, timeout=70)
                if upstream.ok:
                    self._send(
                        200,
                        upstream.content,
                        upstream.headers.get("Content-Type", "application/json"),
                        {"x-Amzn-Invoked-Production-Variant": "AllTraffic"},
                    )
                    return
                side = "client" if upstream.status_code < 500 else "server"
                self._answer(
                    424,
                    {
                        "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
                        "Message": f"Received {side} error ({upstream.status_code}) from primary with "
                        f'message "{upstream.text}".',
                        "OriginalMessage": upstream.text,
                        "OriginalStatusCode": upstream.status_code,
                    },
                    "ModelError",
                )

            def _answer(self, status: int, body: dict[str, Any], error_type: str) -> None:
                self._send(status, json.dumps(body).encode(), "application/json", {"x-amzn-ErrorType": error_type})

            def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output quiet
                pass

        return Handler
