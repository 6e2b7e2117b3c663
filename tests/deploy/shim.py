"""SageMaker's runtime API in front of the real stack, for tests that run against moto.

moto mocks the control plane (models, endpoint configs, endpoints) but answers invoke_endpoint with canned
data. This shim answers POST /endpoints/{name}/invocations as SageMaker does: an endpoint that moto does not
know, or that is not InService, gets SageMaker's ValidationError; otherwise the body and headers go to the
stack's /invocations, and a non-2xx answer from the container comes back as SageMaker's 424 ModelError
(OriginalStatusCode, OriginalMessage). boto3 reaches it through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

INVOCATIONS = re.compile(r"^/endpoints/([A-Za-z0-9-]{1,63})/invocations$")
FORWARDED_HEADERS = ("Content-Type", "Accept", "X-Amzn-SageMaker-Custom-Attributes")


class RuntimeShim:
    """Serves on 127.0.0.1 (a free port) until stop(); `invoked` lists the endpoint names it forwarded for."""

    def __init__(self, stack_url: str, endpoint_status: Callable[[str], str | None]) -> None:
        self.stack_url = stack_url
        self.endpoint_status = endpoint_status  # None when the control plane does not know the endpoint
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
                    self._answer(404, {"__type": "UnknownOperationException", "message": self.path},
                                 "UnknownOperationException")
                    return
                name = match.group(1)
                status = shim.endpoint_status(name)
                if status != "InService":
                    reason = "not found" if status is None else f"is {status}, not InService"
                    self._answer(400, {"__type": "ValidationError", "message": f"Endpoint {name} {reason}."},
                                 "ValidationError")
                    return
                shim.invoked.append(name)
                headers = {h: v for h in FORWARDED_HEADERS if (v := self.headers.get(h)) is not None}
                upstream = requests.post(f"{shim.stack_url}/invocations", data=body, headers=headers, timeout=70)
                if upstream.ok:
                    self._send(200, upstream.content, upstream.headers.get("Content-Type", "application/json"),
                               {"x-Amzn-Invoked-Production-Variant": "AllTraffic"})
                    return
                side = "client" if upstream.status_code < 500 else "server"
                self._answer(424, {"ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
                                   "Message": f"Received {side} error ({upstream.status_code}) from primary with "
                                              f"message \"{upstream.text}\".",
                                   "OriginalMessage": upstream.text, "OriginalStatusCode": upstream.status_code},
                             "ModelError")

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
