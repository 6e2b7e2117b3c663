"""Every process one server started, its summed peak RSS, and a stop that leaves none of them behind.

A server is started as the leader of a new session. Its processes are that session's members plus, at any
depth, their children: the session catches what a launcher orphans (multi-model-server's CLI starts Java
and exits), the children catch what a launcher puts in sessions of its own (ours starts nginx and Java
that way). Every process seen once is remembered (by pid and start time), so that one which outlives its
parent is still found. /proc/PID/stat gives parent, session, state and RSS at once; a process found to be
someone else's is not read again (a process never becomes ours later: its children inherit its session
and parent), which keeps the sampler's own CPU cost small on a 2-core machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    name: str
    state: str
    ppid: int
    session: int
    start_ticks: int
    rss_bytes: int


def _read(pid: int) -> ProcInfo | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is field 3 of proc(5): state
    return ProcInfo(
        pid=pid,
        name=name,
        state=fields[0],
        ppid=int(fields[1]),
        session=int(fields[3]),
        start_ticks=int(fields[19]),
        rss_bytes=int(fields[21]) * PAGE_SIZE,
    )


def _scan(skip: set[int]) -> dict[int, ProcInfo]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in skip and (info := _read(int(entry))) is not None:
            found[info.pid] = info
    return found


class ProcessTree:
    def __init__(self, root: subprocess.Popen) -> None:
        self.root = root
        self.known: dict[int, int] = {}  # pid -> start time, to tell a reused pid apart
        self.foreign: set[int] = set()
        self.lock = threading.Lock()

    def processes(self) -> list[ProcInfo]:
        """The live processes of this server now (zombies hold no memory and are left to their parent)."""
        with self.lock:
            table = _scan(self.foreign)
            children: dict[int, list[int]] = {}
            for info in table.values():
                children.setdefault(info.ppid, []).append(info.pid)
            pending = [
                pid
                for pid, info in table.items()
                if info.session == self.root.pid or self.known.get(pid) == info.start_ticks
            ]
            if self.root.pid in table:
                pending.append(self.root.pid)
            found: dict[int, ProcInfo] = {}
            while pending:
                pid = pending.pop()
                if pid in found or pid not in table:
                    continue
                found[pid] = table[pid]
                pending.extend(children.get(pid, []))
            for pid, info in found.items():
                self.known.setdefault(pid, info.start_ticks)
            self.foreign.update(pid for pid in table if pid not in found)
        return [info for info in found.values() if info.state != "Z"]

    def stop(self, grace_s: float, signal_target: int | None = None) -> dict:
        """SIGTERM (to the launcher, or to `signal_target`), then wait up to `grace_s` (SageMaker allows
        30 s) for every process to be gone, and SIGKILL what is left. Says what outlived the launcher and
        what had to be killed."""
        began = time.monotonic()
        self.processes()  # remember everything before anyone is reparented
        if self.root.poll() is None:
            os.kill(signal_target or self.root.pid, signal.SIGTERM)
        try:
            exit_code: int | None = self.root.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            exit_code = None
        outlived = [f"{p.name}[{p.pid}]" for p in self.processes()]
        while (left := self.processes()) and time.monotonic() - began < grace_s:
            time.sleep(0.1)
        stop_s = time.monotonic() - began
        for process in left:
            try:
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5.0
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        if exit_code is None:
            self.root.wait(timeout=5.0)
        return {
            "exit_code": exit_code,
            "stop_s": round(stop_s, 2),
            "outlived_launcher": outlived,
            "killed_after_grace": [f"{p.name}[{p.pid}]" for p in left],
        }


class RssSampler(threading.Thread):
    """Peak of the summed RSS of a server's processes, sampled every `interval_s`; `cpu_s` is what sampling
    cost this process."""

    def __init__(self, tree: ProcessTree, interval_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.tree, self.interval_s = tree, interval_s
        self.peak_bytes = 0
        self.peak_processes: list[str] = []
        self.cpu_s = 0.0
        self.stop_event = threading.Event()

    def run(self) -> None:
        began = time.thread_time()
        while not self.stop_event.wait(self.interval_s):
            processes = self.tree.processes()
            total = sum(p.rss_bytes for p in processes)
            if total > self.peak_bytes:
                self.peak_bytes, self.peak_processes = total, sorted(p.name for p in processes)
            self.cpu_s = time.thread_time() - began
