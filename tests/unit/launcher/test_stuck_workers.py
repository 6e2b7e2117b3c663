"""The launcher kills a worker past its batch's deadline plus the grace, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hf_serving.launcher.stuck_workers import KILL_GRACE_S, kill_stuck_workers
from hf_serving.serving.worker_reports import BUSY_WORKERS_DIR, BusyMark, busy_deadlines


@pytest.fixture
def sleeper():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def mark(runtime_dir: Path, pid: int, deadline: float) -> None:
    directory = runtime_dir / BUSY_WORKERS_DIR
    directory.mkdir(exist_ok=True)
    (directory / str(pid)).write_text(f"{deadline:20.3f}\n")


def test_a_worker_past_its_deadline_and_the_grace_is_killed_and_forgotten(tmp_path, sleeper):
    mark(tmp_path, sleeper.pid, time.time() - KILL_GRACE_S - 1)
    assert kill_stuck_workers(tmp_path) == [sleeper.pid]
    assert sleeper.wait(timeout=10) == -9
    assert busy_deadlines(tmp_path) == {}


def test_a_worker_within_the_grace_is_left_alone(tmp_path, sleeper):
    mark(tmp_path, sleeper.pid, time.time() - KILL_GRACE_S + 2)
    assert kill_stuck_workers(tmp_path) == []
    assert sleeper.poll() is None and sleeper.pid in busy_deadlines(tmp_path)


def test_a_mark_older_than_its_pids_process_is_a_reused_pid_and_never_killed(tmp_path, sleeper):
    mark(tmp_path, sleeper.pid, time.time() - KILL_GRACE_S - 1)
    written = os.path.getmtime(tmp_path / BUSY_WORKERS_DIR / str(sleeper.pid))
    os.utime(tmp_path / BUSY_WORKERS_DIR / str(sleeper.pid), (written - 60, written - 60))
    assert kill_stuck_workers(tmp_path) == []
    assert sleeper.poll() is None and busy_deadlines(tmp_path) == {}


def test_the_workers_own_mark_is_busy_during_a_batch_and_idle_between(tmp_path):
    busy = BusyMark(tmp_path)
    assert busy_deadlines(tmp_path) == {}
    busy.busy_until(1234.5)
    assert busy_deadlines(tmp_path)[os.getpid()][0] == 1234.5
    busy.idle()
    assert busy_deadlines(tmp_path) == {}
