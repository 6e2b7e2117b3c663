"""A real redis-server (Debian's package; scripts/cache-packages.sh installs it) on a free port, for the response
cache's tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support.missing import skip_or_fail

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def redis_server_path() -> str:
    """redis-server, or a skip saying so; in CI (CI=true), which installs it, a failure."""
    if not os.path.exists(REDIS_SERVER):
        reason = "redis-server is not installed (Debian's redis-server: scripts/cache-packages.sh installs it)"
        skip_or_fail(reason)
    return REDIS_SERVER


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """Started and stopped by the test (killed: a crash, as far as the clients can tell); nothing kept on disk."""

    def __init__(self, directory: Path, port: int, password: str | None = None) -> None:
        self.directory, self.port, self.password = directory, port, password
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        args = [
            redis_server_path(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--enable-debug-command",
            "local",
        ]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
