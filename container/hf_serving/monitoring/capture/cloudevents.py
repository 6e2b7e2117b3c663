"""An http(s):// sink receiving CloudEvents as KServe's InferenceService logger sends them (kserve pkg/logger:
handler.go, worker.go): binary content mode, one event for the request and one for the response, both with the same
ce-id (here the request id), POSTed with the payload as the body and its content type as Content-Type:

    ce-specversion: 1.0     ce-id: <request id>     ce-source: <this server>     ce-time: <RFC 3339>
    ce-type: org.kubeflow.serving.inference.request | org.kubeflow.serving.inference.response
    ce-inferenceservicename: <endpoint>   ce-namespace: ""   ce-component: predictor   ce-endpoint: <variant>
    ce-metadata: {}  (KServe's: the request headers it was told to copy; none here: no header is captured)

Our own extensions, where KServe has none: ce-targetmodel (a multi-model endpoint's model), ce-inferenceid (the
caller's InferenceId), ce-truncated ("true" when the body was cut). A sink that answers other than 2xx, or does not
answer within the short timeouts, fails the record (counted, never retried: a retry would only hold the buffer up).
"""

from __future__ import annotations

import http.client
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from hf_serving.monitoring.capture.destinations import Layout, WriteFailed
from hf_serving.monitoring.capture.exchange import Body, Exchange

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
SPEC_VERSION = "1.0"
COMPONENT = "predictor"
TIMEOUT_S = 2.0


class CloudEventsSink:
    def __init__(self, url: str, layout: Layout, source: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a CloudEvents sink is an http:// or https:// URL")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.layout = layout
        self.source = source
        self._connection: http.client.HTTPConnection | None = None

    def write(self, exchanges: Sequence[Exchange]) -> int:
        written = 0
        try:
            for exchange in exchanges:
                self._send(exchange, REQUEST_TYPE, exchange.request)
                self._send(exchange, RESPONSE_TYPE, exchange.response)
                written += 1
        except (OSError, http.client.HTTPException, SinkRefused) as exc:
            self._close()
            raise WriteFailed(written, exc) from exc
        return written

    def headers(self, exchange: Exchange, event_type: str, body: Body) -> dict[str, str]:
        headers = {
            "Content-Type": body.content_type or "application/octet-stream",
            "ce-specversion": SPEC_VERSION,
            "ce-id": exchange.event_id,
            "ce-type": event_type,
            "ce-source": self.source,
            "ce-time": datetime.fromtimestamp(exchange.inference_time, UTC).isoformat().replace("+00:00", "Z"),
            "ce-inferenceservicename": self.layout.endpoint,
            "ce-namespace": "",
            "ce-component": COMPONENT,
            "ce-endpoint": self.layout.variant,
            "ce-metadata": "{}",
        }
        if exchange.model is not None:
            headers["ce-targetmodel"] = exchange.model
        if exchange.inference_id:
            headers["ce-inferenceid"] = exchange.inference_id
        if body.cut:
            headers["ce-truncated"] = "true"
        return headers

    def _send(self, exchange: Exchange, event_type: str, body: Body) -> None:
        reused = self._connection is not None
        try:
            response = self._post(exchange, event_type, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            self._close()  # the sink closed the idle connection kept since the last flush: once more, on a new one
            response = self._post(exchange, event_type, body)
        if not 200 <= response.status < 300:
            raise SinkRefused(f"the sink answered {response.status}")

    def _post(self, exchange: Exchange, event_type: str, body: Body) -> http.client.HTTPResponse:
        connection = self._connect()
        connection.request("POST", self.target, body=body.data, headers=self.headers(exchange, event_type, body))
        response = connection.getresponse()
        response.read()
        return response

    def _connect(self) -> http.client.HTTPConnection:
        # One kept-alive connection per worker: a connection per event would cost a handshake per event.
        if self._connection is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._connection = kind(self.host, self.port, timeout=TIMEOUT_S)
        return self._connection

    def close(self) -> None:
        self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class SinkRefused(Exception):
    pass
