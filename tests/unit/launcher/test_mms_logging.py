"""multi-model-server's log lines through the log4j inside its own jar, configured as the launcher configures it: a
Java stack trace is one line, and with LOG_FORMAT=json every line is a JSON object (a worker's own passing through)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hf_serving.launcher import mms
from tests.support.paths import ROOT

HARNESS = ROOT / "tests" / "java" / "LogAnException.java"


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    classes = tmp_path_factory.mktemp("log-harness")
    subprocess.run(
        [
            mms.java_executable(),
            "-m",
            "jdk.compiler/com.sun.tools.javac.Main",
            "-nowarn",
            "-cp",
            str(mms.model_server_jar()),
            "-d",
            str(classes),
            str(HARNESS),
        ],
        check=True,
        capture_output=True,
    )
    return classes


def logged(harness: Path, tmp_path: Path, log_format: str) -> list[str]:
    config = tmp_path / "log4j2.xml"
    config.write_text(mms.log4j2_xml("info", log_format))
    done = subprocess.run(
        [
            mms.java_executable(),
            f"-Dlog4j.configurationFile=file://{config}",
            "-cp",
            f"{harness}:{mms.model_server_jar()}",
            "LogAnException",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    # log4j's own warning about this JRE, printed once before configuring anything (the launcher wraps it in JSON
    # mode: observability/log_relay.py).
    return [line for line in done.stdout.splitlines() if not line.startswith("WARNING: sun.reflect.")]


def test_text_a_stack_trace_is_one_line(harness, tmp_path):
    lines = logged(harness, tmp_path, "text")
    assert len(lines) == 3, lines
    assert lines[1].endswith("WorkerThread - Retry worker: 9000 in 1 seconds.")
    trace = lines[2]
    assert "[WARN ] WorkerThread - Backend worker error java.lang.IllegalStateException: worker died" in trace
    # Line breaks escaped (tabs kept): one line.
    assert "\\n\tat LogAnException.main" in trace and "Caused by: java.io.IOException: Connection reset" in trace


def test_json_every_line_is_an_object_and_a_workers_own_passes_through(harness, tmp_path):
    lines = logged(harness, tmp_path, "json")
    records = [json.loads(line) for line in lines]
    assert records[0] == {"level": "INFO", "logger": "hf_serving.requests", "message": "a worker's line"}
    assert (records[1]["level"], records[1]["logger"], records[1]["message"]) == (
        "INFO",
        "com.amazonaws.ml.mms.wlm.WorkerThread",
        "Retry worker: 9000 in 1 seconds.",
    )
    assert records[2]["level"] == "WARN" and records[2]["message"] == "Backend worker error"
    assert records[2]["exception"].startswith("java.lang.IllegalStateException: worker died")
    assert "Caused by: java.io.IOException: Connection reset by peer" in records[2]["exception"]
    assert "exception" not in records[1]
    assert records[1]["time"].endswith("Z") or "+" in records[1]["time"]
