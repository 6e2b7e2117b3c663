"""The deployment path's test bed: moto's AWS on loopback, the real stack, and the runtime shim between them.

Nothing here reaches AWS. The credentials are dummies, every AWS endpoint is moto's (AWS_ENDPOINT_URL) or the
shim's (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME), the SageMaker SDK's telemetry is opted out, and HTTP(S)_PROXY
is a trap on loopback: anything that would still leave the machine fails there, and is recorded.
The moto and shim fixtures need .venv-deploy (`make deploy-test`); in .venv their tests are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.bed import REGION, SDK_CONFIG, AwsBed, ProxyTrap, endpoint_container, endpoint_status, fetch_s3
from tests.support.stack import ROOT, TINY_QA, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real stack (nginx + multi-model-server + torch) serving tests/fixtures/tiny-qa."""
    log = tmp_path_factory.mktemp("deploy-stack") / "serve.log"
    running = Stack(TINY_QA, log).start()
    try:
        yield running.wait_ready()
    finally:
        running.terminate()
        running.kill_everything()


@pytest.fixture(scope="session")
def tiny_sentiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny sentiment classifier, built by the stack's own Python: .venv-deploy has no torch."""
    out = tmp_path_factory.mktemp("tiny-sentiment") / "model"
    python = os.environ.get("HF_SERVING_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
    subprocess.run(
        [
            python,
            "-m",
            "hf_serving",
            "demo-model",
            "--task",
            "text-classification",
            "--labels",
            "sentiment",
            "--size",
            "tiny",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "container")},
    )
    return out


# A budget for a few tiny models besides the stack itself (~350 MB): more targets make the front unload some.
MME_MEMORY_LIMIT_MB = "700"


@pytest.fixture(scope="session")
def mme_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real stack as a multi-model endpoint, with a small memory budget."""
    log = tmp_path_factory.mktemp("deploy-mme-stack") / "serve.log"
    running = Stack(
        None, log, SAGEMAKER_MULTI_MODEL="true", SERVE_MEMORY_LIMIT_MB=MME_MEMORY_LIMIT_MB, SERVE_MEMORY_HEADROOM_MB="0"
    ).start()
    try:
        yield running.wait_ready()
    finally:
        running.terminate()
        running.kill_everything()


@pytest.fixture(scope="session")
def proxy_trap() -> Iterator[ProxyTrap]:
    trap = ProxyTrap()
    try:
        yield trap
    finally:
        trap.stop()


@pytest.fixture
def no_egress(proxy_trap: ProxyTrap) -> Iterator[dict[str, str]]:
    """The trap's environment; the test fails if anything tried to leave the machine through it."""
    proxy_trap.attempts.clear()
    yield proxy_trap.env()
    assert proxy_trap.attempts == [], f"requests that tried to leave the machine: {proxy_trap.attempts}"


@pytest.fixture(scope="session")
def aws_bed(
    stack: Stack, mme_stack: Stack, proxy_trap: ProxyTrap, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AwsBed]:
    pytest.importorskip("moto", reason="moto lives in .venv-deploy: run make deploy-test")
    from moto.server import ThreadedMotoServer

    from tests.deploy.shim import MultiModelFront, RuntimeShim

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    sdk_config = tmp_path_factory.mktemp("sdk-config") / "config.yaml"
    sdk_config.write_text(SDK_CONFIG)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL": moto_url,
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(sdk_config),
        "SAGEMAKER_SUPPRESS_V2_WARNING": "1",
        **proxy_trap.env(),
    }
    bed = AwsBed(moto_url, None, stack, mme_stack, env)
    models_dir = Path(tempfile.mkdtemp(prefix="mme-models-"))  # nginx's workers (another user) never read it
    front = MultiModelFront(mme_stack.url, models_dir, fetch=lambda uri: fetch_s3(bed, uri))
    shim = RuntimeShim(
        stack.url,
        endpoint_status=lambda name: endpoint_status(bed, name),
        container_of=lambda name: endpoint_container(bed, name),
        multi_model=front,
    ).start()
    bed.shim = shim
    env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = shim.url
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        try:
            yield bed
        finally:
            shim.stop()
            server.stop()
            shutil.rmtree(models_dir, ignore_errors=True)


@pytest.fixture
def aws(aws_bed: AwsBed, no_egress: dict[str, str]) -> AwsBed:
    """The bed, with moto emptied (each test starts from an account with nothing in it) and egress watched."""
    aws_bed.reset()
    return aws_bed
