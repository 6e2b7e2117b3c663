"""Runs a protocol client script (tests/protocols/clients/) as users run their clients: in a venv of its own
(.venv-clients, `make install-clients`: the openai SDK, huggingface_hub, tritonclient), never beside the server's
packages. A script takes its arguments on the command line and, where it needs more, a JSON document on stdin; it
prints one JSON document on stdout, which the test (in the server's venv) asserts on."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.support.paths import ROOT

CLIENTS_PYTHON = ROOT / ".venv-clients" / "bin" / "python"
CLIENTS = ROOT / "tests" / "protocols" / "clients"


def run_client(script: str, *args: str, stdin: Any = None, timeout_s: float = 120.0) -> Any:
    """The JSON the client script printed; an AssertionError with its stderr when it fails."""
    assert CLIENTS_PYTHON.exists(), f"{CLIENTS_PYTHON} is missing: run `make install-clients`"
    done = subprocess.run(
        [str(CLIENTS_PYTHON), str(CLIENTS / script), *args],
        input=None if stdin is None else json.dumps(stdin),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, f"{script} exited with {done.returncode}:\n{done.stderr[-4000:]}"
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"{script} printed no JSON:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}") from None
