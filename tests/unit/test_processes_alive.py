"""processes_alive.alive: running processes are, exited ones and zombies are not."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from hf_serving.processes_alive import alive


def test_a_running_process_is_alive_by_process_and_by_pid():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert alive(child.pid) and alive(psutil.Process(child.pid))
    finally:
        child.kill()
        child.wait()


def test_an_exited_process_not_yet_reaped_is_a_zombie_and_not_alive():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    process = psutil.Process(child.pid)
    # Not reaped (no wait() yet): its PID stays, as a zombie, until this test collects it.
    deadline = time.monotonic() + 60
    while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.status() == psutil.STATUS_ZOMBIE
    assert not alive(child.pid) and not alive(process)
    child.wait()
    assert not alive(child.pid) and not alive(process)
