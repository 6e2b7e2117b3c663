"""Start entrypoint/serve for real (nginx + multi-model-server + Java + torch) on free loopback ports.

Readiness is polled against a deadline, never slept for; every process the stack started is tracked
so that tests can check none outlives it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import requests

from hf_serving.launcher.supervision import model_name_argument
from tests.support.paths import ROOT, SERVE, TINY_QA

__all__ = ["ROOT", "TINY_QA", "Stack", "free_port", "model_dir_with_code"]
START_DEADLINE_S = 90.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def model_dir_with_code(
    tmp_path: Path, code: str | None = None, source: Path = TINY_QA, requirements: str | None = None
) -> Path:
    """A copy of a model directory in the model.tar.gz layout, with an optional code/inference.py."""
    model_dir = tmp_path / "model"
    shutil.copytree(source, model_dir)
    if code is not None or requirements is not None:
        (model_dir / "code").mkdir()
    if code is not None:
        (model_dir / "code" / "inference.py").write_text(code)
    if requirements is not None:
        (model_dir / "code" / "requirements.txt").write_text(requirements)
    return model_dir


class Stack:
    def __init__(self, model_dir: Path | None, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
            "SERVE_BIND_ADDRESS": "127.0.0.1",
            "MODEL_DTYPE": "float32",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.env.pop("HF_MODEL_ID", None)
        self.env["HF_MODEL_DIR"] = str(model_dir) if model_dir else str(log_path.parent / "no-model-here")
        self.process: subprocess.Popen | None = None
        self.command = [str(SERVE)]  # a caller may put a wrapper in front (reliability/memory_limit.py: a cgroup)
        self.descendants: dict[int, psutil.Process] = {}

    def start(self) -> Stack:
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def track(self) -> None:
        """Remember every process under the launcher (nginx, Java, Python workers)."""
        assert self.process is not None
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                self.descendants.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def forked_workers(self, model: str | None = "model") -> list[psutil.Process]:
        """The processes that hold the model: MMS's worker listener forks one per connection from Java. `model`:
        whose (by the listener's --model-name, which a fork keeps): the model's by default, not the explanation
        worker's ("explain"); None for every one."""
        assert self.process is not None
        workers = []
        for process in psutil.Process(self.process.pid).children(recursive=True):
            try:
                command = process.cmdline()
                if (
                    "model_service_worker" in " ".join(command)
                    and "model_service_worker" in " ".join(process.parent().cmdline())
                    and (model is None or model_name_argument(command) == model)
                ):
                    workers.append(process)
            except psutil.NoSuchProcess:
                continue
        return workers

    def admission(self) -> dict:
        """Admission control's state, from nginx's loopback-only inner hop (the banner names its port)."""
        port = re.search(r"nginx's inner hop (\d+)", self.log())
        assert port is not None, "no inner hop port in the log yet"
        return requests.get(f"http://127.0.0.1:{port.group(1)}/admission", timeout=5).json()

    def ping(self, timeout: float = 2.0) -> requests.Response:
        return requests.get(f"{self.url}/ping", timeout=timeout)

    def wait_ready(self, deadline_s: float = START_DEADLINE_S) -> Stack:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                if self.ping(timeout=2.0).status_code == 200:
                    self.track()
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"not ready within {deadline_s} s:\n{self.log()[-4000:]}")

    def wait_exit(self, timeout_s: float = 60.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def invoke(
        self,
        body: object = None,
        data: bytes | str | None = None,
        timeout: float = 30.0,
        content_type: str = "application/json",
        **headers: str,
    ) -> requests.Response:
        all_headers = {"Content-Type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if body is not None:
            return requests.post(f"{self.url}/invocations", json=body, headers=all_headers, timeout=timeout)
        return requests.post(f"{self.url}/invocations", data=data, headers=all_headers, timeout=timeout)

    def terminate(self) -> int:
        assert self.process is not None
        self.track()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait_exit()

    def survivors(self) -> list[psutil.Process]:
        alive = []
        for process in self.descendants.values():
            try:
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                pass
        return alive

    def serving(self) -> Iterator[Stack]:
        """A fixture's body: starts the stack, yields it once ready, and kills all it started afterwards."""
        self.start()
        try:
            yield self.wait_ready()
        finally:
            self.kill_everything()

    def kill_everything(self) -> None:
        """Last-resort clean-up so that a failed test leaves nothing running."""
        self.track()
        for process in [*self.descendants.values()]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
