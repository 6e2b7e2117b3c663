"""Control groups (v1 or v2) for the reliability runs: a CPU cap on a load generator, a memory limit on the stack.

Needs root. On cgroup v1 (this project's machines) each controller is its own tree under /sys/fs/cgroup/<controller>;
on v2 both live in one directory under /sys/fs/cgroup.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V2 = (ROOT / "cgroup.controllers").exists()
PERIOD_US = 10_000  # short, so that a capped process is never held off the CPU for long at a stretch


def available(controller: str) -> bool:
    if os.geteuid() != 0:
        return False
    if V2:
        return controller in (ROOT / "cgroup.controllers").read_text().split()
    return (ROOT / controller / "cgroup.procs").exists()


@contextlib.contextmanager
def group(controller: str, name: str) -> Iterator[Path]:
    """A fresh group; on leaving, its processes go back to the root group and it is removed."""
    path = (ROOT if V2 else ROOT / controller) / name
    if path.exists():
        _remove(path)
    path.mkdir()
    try:
        yield path
    finally:
        _remove(path)


def _remove(path: Path) -> None:
    root_procs = path.parent / "cgroup.procs"
    for _ in range(50):
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                root_procs.write_text(pid)
        try:
            path.rmdir()
            return
        except OSError:
            time.sleep(0.1)


def add(path: Path, pid: int) -> None:
    (path / "cgroup.procs").write_text(str(pid))


def limit_cpu(path: Path, cores: float) -> None:
    quota = max(1000, int(cores * PERIOD_US))
    if V2:
        (path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
    else:
        (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (path / "cpu.cfs_quota_us").write_text(str(quota))


def limit_memory(path: Path, limit_bytes: int) -> None:
    """A hard limit with no swap: past it the kernel's OOM killer picks a process of the group."""
    if V2:
        (path / "memory.max").write_text(str(limit_bytes))
        with contextlib.suppress(OSError):
            (path / "memory.swap.max").write_text("0")
    else:
        (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
        with contextlib.suppress(OSError):
            (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))


def memory_peak(path: Path) -> int:
    name = "memory.peak" if V2 else "memory.max_usage_in_bytes"
    return int((path / name).read_text())


def reset_memory_peak(path: Path) -> None:
    """v1 only: v2's memory.peak cannot be reset before kernel 6.12, so it is the peak since the group began."""
    if not V2:
        (path / "memory.max_usage_in_bytes").write_text("0")


def oom_kills(path: Path) -> int:
    if V2:
        events = dict(line.split() for line in (path / "memory.events").read_text().splitlines())
        return int(events.get("oom_kill", 0))
    control = dict(line.split() for line in (path / "memory.oom_control").read_text().splitlines())
    return int(control.get("oom_kill", 0))
