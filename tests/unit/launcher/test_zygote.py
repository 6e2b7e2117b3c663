"""The zygote for real: a zygote process (without its heavy imports) and its client, running small scripts as
multi-model-server would run its worker listener through the wrapper."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from hf_serving.launcher import zygote

SCRIPT = """
import os, signal, sys, time
print("argv", sys.argv[1:], "cwd", os.getcwd(), "env", os.environ.get("PROBE"), flush=True)
print("to stderr", file=sys.stderr, flush=True)
if sys.argv[1] == "exit":
    sys.exit(int(sys.argv[2]))
if sys.argv[1] == "term":
    signal.signal(signal.SIGTERM, lambda *_: (print("got SIGTERM", flush=True), sys.exit(7)))
print("pid", os.getpid(), flush=True)
time.sleep(60)
"""


def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def zygote_process(tmp_path):
    """A zygote with nothing to preload (the real one imports torch: seconds), and the wrapper MMS would run."""
    socket_path, children = tmp_path / "zygote.sock", tmp_path / "children"
    code = "import sys; from hf_serving.launcher import zygote; zygote.PRELOAD = (); zygote.main(sys.argv[1:])"
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(socket_path), str(children)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(socket_path.exists)
    wrapper = zygote.wrapper_script(tmp_path, socket_path)
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    yield wrapper, script, children, process
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_the_forked_process_runs_the_script_with_the_clients_argv_cwd_env_and_streams(zygote_process, tmp_path):
    wrapper, script, _, zygote_proc = zygote_process
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = subprocess.run(
        [str(wrapper), str(script), "exit", "3"],
        cwd=workdir,
        capture_output=True,
        text=True,
        env={**os.environ, "PROBE": "from-the-client"},
        timeout=30,
    )
    assert done.returncode == 3
    assert done.stdout.splitlines() == [f"argv ['exit', '3'] cwd {workdir} env from-the-client"]
    assert done.stderr.strip() == "to stderr"
    assert psutil.Process(zygote_proc.pid).is_running()  # the zygote itself goes on


def test_signals_to_the_client_reach_the_forked_process_and_its_status_comes_back(zygote_process):
    wrapper, script, children, _ = zygote_process
    with subprocess.Popen([str(wrapper), str(script), "term"], stdout=subprocess.PIPE, text=True) as client:
        assert client.stdout is not None
        assert client.stdout.readline().startswith("argv ['term']")
        forked = int(client.stdout.readline().split()[1])
        assert forked != client.pid
        assert (children / str(client.pid)).read_text() == str(forked)  # how the launcher finds model processes
        client.send_signal(signal.SIGTERM)
        assert client.wait(timeout=10) == 7
        assert client.stdout.read().strip() == "got SIGTERM"
    wait_for(lambda: not (children / str(client.pid)).exists())


def test_a_client_killed_outright_takes_the_forked_process_with_it(zygote_process):
    wrapper, script, _, _ = zygote_process
    with subprocess.Popen([str(wrapper), str(script), "sleep"], stdout=subprocess.PIPE, text=True) as client:
        assert client.stdout is not None
        client.stdout.readline()
        forked = psutil.Process(int(client.stdout.readline().split()[1]))
        client.kill()  # what Java's destroyForcibly does
        client.wait(timeout=10)
    wait_for(lambda: not forked.is_running() or forked.status() == psutil.STATUS_ZOMBIE)


def test_the_wrapper_runs_the_client_with_this_interpreter_and_no_site(tmp_path):
    wrapper = zygote.wrapper_script(tmp_path, tmp_path / "z.sock")
    text = wrapper.read_text()
    assert text.startswith("#!/bin/sh\n") and f"'{sys.executable}' -S '{zygote.CLIENT_SCRIPT}'" in text
    assert os.access(wrapper, os.X_OK) and Path(zygote.CLIENT_SCRIPT).is_file()
