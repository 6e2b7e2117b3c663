"""A real Prometheus (Debian's, on a free port, its data in a test's directory) scraping a stack every second and
evaluating alerting rules every second: tests/integration/test_observability_prometheus.py and test_drift_stack.py."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.support.promql import ALERTS
from tests.support.stack import free_port


class Prometheus:
    def __init__(self, binary: str, directory: Path, target: str, rules: Path = ALERTS) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        # JSON is YAML: no template to fill in. The shipped rules, as they are, unless a test gives its own copy.
        self.config = directory / "prometheus.yml"
        self.config.write_text(
            json.dumps(
                {
                    "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(rules)],
                    "scrape_configs": [
                        {
                            "job_name": "hf-serving",
                            "metrics_path": "/metrics",
                            "static_configs": [{"targets": [target]}],
                        }
                    ],
                }
            )
        )
        self.log_path = directory / "prometheus.log"
        self.command = [
            binary,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1h",
        ]
        self.process: subprocess.Popen | None = None

    def start(self) -> Prometheus:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"prometheus not ready in 30 s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def api(self, path: str, **params: str) -> dict:
        response = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", (expr, data)
        return data["result"]

    def value(self, expr: str, default: float = math.nan) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else default

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
