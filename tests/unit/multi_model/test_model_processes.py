"""A model's processes at its unload: the call returns once they are gone, and kills the ones that linger."""

from __future__ import annotations

import subprocess
import sys

import psutil

from hf_serving.multi_model import model_processes

IGNORES_TERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(600)"
)


def start(code: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    with child.stdout:  # it writes nothing more
        assert child.stdout.readline() == "up\n"
    return child


def test_it_returns_once_the_processes_have_exited_and_kills_none(monkeypatch):
    monkeypatch.setattr(model_processes, "PROCESS_EXIT_S", 600.0)
    model_processes.wait_gone([], lambda: [], "m")  # nothing to wait for
    child = start("import time; print('up', flush=True); time.sleep(600)")
    child.terminate()  # as MMS stops a worker; until reaped here it is a zombie, which counts as gone
    model_processes.wait_gone([psutil.Process(child.pid)], lambda: [], "m")
    assert child.wait(timeout=60) == -15  # ended by its SIGTERM, not killed


def test_a_process_that_outlives_its_time_is_killed_and_so_is_one_listed_late(monkeypatch, caplog):
    monkeypatch.setattr(model_processes, "PROCESS_EXIT_S", 0.0)
    known, late = start(IGNORES_TERM), start(IGNORES_TERM)
    try:
        known.terminate()  # ignored, as a worker stuck in native code ignores MMS
        model_processes.wait_gone([psutil.Process(known.pid)], lambda: [psutil.Process(late.pid)], "m")
        # Killed and reaped there (psutil.wait_procs: these are this test's children).
        assert not psutil.pid_exists(known.pid) and not psutil.pid_exists(late.pid)
        for child in (known, late):
            assert f"model 'm': process {child.pid} outlived its unload; killing it" in caplog.text
    finally:
        for child in (known, late):
            child.kill()
            child.wait()
