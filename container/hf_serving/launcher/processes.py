"""Child processes of the launcher, supervised as a PID 1 must: signals forwarded, every child reaped.

Each child starts in its own process group, so a signal reaches the whole tree under it (Java and
the Python workers it forks). The launcher is also made a child subreaper, so processes orphaned by a
dying child (MMS's Python worker when Java exits) are re-parented to it and reaped here, even when it
is not PID 1 (entrypoint/serve run by hand or by tests).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from hf_serving.observability import log_relay

log = logging.getLogger(__name__)

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: orphans go to init instead
        log.debug("could not become a child subreaper")


def group_followers(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group, its leader excepted; none where /proc cannot tell."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) == pgid:
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    exit_status: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.exit_status is None


class Children:
    def __init__(self, json_logs: bool = False) -> None:
        self.by_pid: dict[int, Child] = {}
        # LOG_FORMAT=json: every line a child prints becomes JSON (observability/log_relay.py).
        self.json_logs = json_logs

    def start(self, name: str, command: list[str], env: Mapping[str, str]) -> Child:
        log.debug("starting %s: %s", name, " ".join(command))
        output = subprocess.PIPE if self.json_logs else None
        process = subprocess.Popen(
            command,
            env=dict(env),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if self.json_logs else None,
        )
        if process.stdout is not None:
            log_relay.start(process.stdout, name, sys.stdout.buffer)
        child = Child(name, process)
        self.by_pid[process.pid] = child
        return child

    def reap(self) -> list[Child]:
        """Collect every exited process, ours or orphaned; returns our children that exited."""
        exited: list[Child] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return exited
            if pid == 0:
                return exited
            child = self.by_pid.get(pid)
            if child is not None:
                child.exit_status = os.waitstatus_to_exitcode(status)
                child.process.returncode = child.exit_status  # Popen must not wait for it again
                exited.append(child)

    def signal_group(self, child: Child, signum: int) -> None:
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    def wait_for(self, child: Child, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while child.running and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.05)
        return not child.running

    def stop_group(self, child: Child, grace_s: float, then_wait_s: float = 0.0) -> None:
        """SIGTERM the child's whole process group, then SIGKILL what is left after grace_s for the leader to exit
        and then_wait_s more for the rest of the group."""
        self.signal_group(child, signal.SIGTERM)
        self.wait_for(child, grace_s)
        if then_wait_s > 0:
            self.wait_group_gone(child, then_wait_s)
        # The group may outlive its leader (a worker still writing): nothing of it stays behind.
        self.signal_group(child, signal.SIGKILL)
        self.wait_for(child, 2.0)

    def wait_group_gone(self, child: Child, timeout_s: float) -> bool:
        """Until no process of the child's group is left (reaping what exits), or the timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.reap()
            try:
                os.killpg(child.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.02)
        return False

    def wait_followers_gone(self, child: Child, timeout_s: float) -> bool:
        """Until no live process but the leader is left in the child's group (reaping what exits), or the timeout:
        MMS's Python workers finish on their own once Java has closed their connections."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.reap()
            if not group_followers(child.pid):
                return True
            time.sleep(0.02)
        return False

    def reap_all(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.reap()
            try:
                os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            time.sleep(0.05)
