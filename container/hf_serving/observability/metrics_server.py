"""The launcher's metrics endpoint on loopback: nginx's /metrics appends what this answers to its own counts
(launcher/lua/metrics.lua). A scrape reads a few small files."""

from __future__ import annotations

import logging
from http.server import BaseHTTPRequestHandler
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from hf_serving.loopback import LoopbackServer
from hf_serving.observability.collector import WorkerMetricsCollector

log = logging.getLogger("hf_serving.metrics")


class MetricsServer(LoopbackServer):
    def __init__(self, collector: WorkerMetricsCollector, port: int) -> None:
        super().__init__(port, type("Handler", (_Handler,), {"collector": collector}), "metrics")


class _Handler(BaseHTTPRequestHandler):
    collector: WorkerMetricsCollector
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path != "/metrics":
            self._answer(404, b"not found\n", "text/plain")
            return
        try:
            body = self.collector.render()
        except Exception:  # a torn file of a worker being killed: this scrape says so, the next one works
            log.warning("the workers' metrics could not be read", exc_info=True)
            self._answer(500, b"the workers' metrics could not be read\n", "text/plain")
            return
        self._answer(200, body, CONTENT_TYPE_LATEST)

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # nginx logs the scrape
