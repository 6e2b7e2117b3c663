"""The package as users install it: a fresh venv, torch's CPU build, then `pip install <checkout>` (not editable),
and `python -m hf_serving serve` from a directory that is not the checkout. nginx and Java come from the host.

requirements.txt is applied as constraints: the ranges in pyproject.toml decide what may be installed, the lock
decides what is (the same versions the image and CI run).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from hf_serving.api_docs import assets
from tests.support.paths import ROOT, TINY_QA
from tests.support.stack import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("installed") / "venv"
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or "python3"
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([str(ROOT / "scripts" / "install-torch.sh"), str(python)], check=True, timeout=600)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-c", str(ROOT / "requirements.txt"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return python


def test_the_wheel_carries_the_nginx_template_and_the_java_sources_as_files(installed):
    code = (
        "import hf_serving.launcher.nginx as n, hf_serving.launcher.mms_fix as f, hf_serving.serving.default_hooks"
        " as d\nprint(n.TEMPLATE_PATH)\nprint(*f.SOURCES)\nprint(d.__file__)"
    )
    done = subprocess.run(
        [str(installed), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stderr
    template, *sources, hooks = (Path(line) for line in done.stdout.split())
    site = installed.parent.parent / "lib"
    for path in (template, *sources, hooks):
        assert site in path.parents, path  # from the install, not from the checkout
    assert template.is_file() and not template.is_symlink()
    assert template.read_text() == (ROOT / "docker" / "nginx.conf").read_text()
    java = ROOT / "container" / "hf_serving" / "launcher" / "java"
    assert sorted(source.name for source in sources) == sorted(path.name for path in java.glob("*.java"))
    for source in sources:
        assert source.read_bytes() == (java / source.name).read_bytes()


def test_the_wheel_carries_the_docs_page_the_description_as_a_file_and_the_fetched_swagger_ui(installed):
    code = (
        "from hf_serving.api_docs import assets, site, spec\nprint(spec.SOURCE)\nprint(site.PAGE_DIR)\n"
        "print(assets.installed_pin())"
    )
    done = subprocess.run(
        [str(installed), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stderr
    source, page, pin = done.stdout.splitlines()
    assert installed.parent.parent / "lib" in Path(source).parents
    assert Path(source).is_file() and not Path(source).is_symlink()
    assert Path(source).read_bytes() == (ROOT / "docs" / "openapi.yaml").read_bytes()
    assert (Path(page) / "index.html").is_file() and (Path(page) / "docs.js").is_file()
    # The Swagger UI files go into the wheel when the checkout has them (make install fetched them).
    assert pin == str(assets.installed_pin())


def test_python_m_hf_serving_serve_from_any_directory_serves_the_model(installed, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "SAGEMAKER_", "MODEL_", "SERVE_"))}
    env.pop("PYTHONPATH", None)
    env.update(
        HF_MODEL_DIR=str(TINY_QA),
        SAGEMAKER_BIND_TO_PORT=str(port),
        SERVE_BIND_ADDRESS="127.0.0.1",
        MODEL_DTYPE="float32",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(installed), "-m", "hf_serving", "serve"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-4000:]
            try:
                if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError(log.read_text()[-4000:])
        context = "The container listens on port 8080 for requests to /invocations."
        response = requests.post(f"{url}/invocations", json={"question": "Which port?", "context": context}, timeout=30)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert context[answer["start"] : answer["end"]] == answer["answer"]
        bad = requests.post(
            f"{url}/invocations", data=b"{broken", headers={"Content-Type": "application/json"}, timeout=30
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
        assert "serving question-answering on torch" in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-4000:]
