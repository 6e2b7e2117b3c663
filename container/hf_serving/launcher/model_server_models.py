"""The running model server as a multi-model endpoint's lifecycle sees it: register, unregister, find a model's
processes, count its invocations in flight (multi_model/lifecycle.py's ModelServer)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psutil

from hf_serving import processes_alive
from hf_serving.launcher import mms
from hf_serving.launcher.supervision import LISTENER_SCRIPT, model_name_argument

REQUEST_TIMEOUT_S = 30.0


class MmsModels:
    def __init__(
        self,
        config: mms.MmsConfig,
        java_pid: Callable[[], int | None],
        edge_port: int,
        register_timeout_s: float,
        zygote_children: Path | None = None,
    ) -> None:
        self.config = config
        self.zygote_children = zygote_children
        self.java_pid = java_pid
        self.edge_port = edge_port
        self.register_timeout_s = register_timeout_s

    @property
    def client(self) -> mms.ManagementClient:
        return mms.ManagementClient(self.config.management_port)

    def register(self, name: str, workers: int) -> None:
        self.client.register(
            replace(self.config, workers=workers), self.register_timeout_s, name=name, synchronous=False
        )

    def unregister(self, name: str) -> None:
        self.client.unregister(name, self.register_timeout_s)

    def processes_of(self, name: str) -> list[psutil.Process]:
        """The model's listener and workers: MMS starts them with `--model-name <name>`, and forks keep the argv;
        with the zygote, the processes it forked for those clients (launcher/zygote.py), and theirs."""
        pid = self.java_pid()
        if pid is None:
            return []
        found = []
        try:
            descendants = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for process in descendants:
            try:
                command = process.cmdline()
                if not processes_alive.alive(process) or not any(LISTENER_SCRIPT in p for p in command):
                    continue
            except psutil.NoSuchProcess:
                continue
            if model_name_argument(command) == name:
                found.append(process)
                found.extend(self._forked_for(process.pid))
        return found

    def _forked_for(self, client_pid: int) -> list[psutil.Process]:
        if self.zygote_children is None:
            return []
        try:
            forked = psutil.Process(int((self.zygote_children / str(client_pid)).read_text()))
            return [forked, *forked.children(recursive=True)]
        except (OSError, ValueError, psutil.NoSuchProcess):
            return []

    def in_flight(self, name: str) -> int:
        """Invocations of the model holding an admission slot (waiting in MMS or in a batch), from nginx."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.edge_port}/admission", timeout=2.0) as response:
                state = json.loads(response.read())
        except (OSError, urllib.error.URLError, ValueError):
            return 0
        pool = state.get("pools", {}).get(name) or {}
        return int(pool.get("in_service", 0)) + int(pool.get("waiting", 0))
