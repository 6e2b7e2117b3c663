"""serve on a host without nginx or Java: exit 2 with one line naming it and its package, nothing started.

The tool is hidden by bind-mounting /dev/null over it in a mount namespace of the test's own (root only), so the
real entrypoint/serve runs on this very machine as it would on a bare one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import SERVE, TINY_QA

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("unshare") is None,
        reason="hides a binary in a mount namespace: needs root and unshare",
    ),
]


def _serve_without(binaries: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    hide = " && ".join(f"mount --bind /dev/null {binary}" for binary in binaries)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env.update(HF_MODEL_DIR=str(TINY_QA), SERVE_BIND_ADDRESS="127.0.0.1", SAGEMAKER_BIND_TO_PORT="1")
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", f"{hide} && exec {SERVE}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )


def _real(name: str) -> str:
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin")
    assert found is not None
    return os.path.realpath(found)


@pytest.mark.parametrize(
    ("hidden", "line"),
    [
        (
            ["nginx"],
            "serve needs nginx, which this host lacks: install Debian's nginx-light (apt-get install -y "
            "--no-install-recommends nginx-light)",
        ),
        (["java"], "serve needs java, which this host lacks: install Debian's openjdk-17-jre-headless"),
        (
            ["nginx", "java"],
            "serve needs nginx and java, which this host lacks: install Debian's nginx-light openjdk-17-jre-headless",
        ),
        (
            ["/usr/lib/nginx/modules/ngx_http_lua_module.so"],
            "serve needs nginx's Lua module, which this host lacks: install Debian's libnginx-mod-http-lua (apt-get "
            "install -y --no-install-recommends libnginx-mod-http-lua)",
        ),
    ],
)
def test_serve_exits_2_with_one_line_and_starts_nothing(tmp_path, hidden, line):
    done = _serve_without([name if name.startswith("/") else _real(name) for name in hidden], tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert line in output
    assert "Traceback" not in output
    assert [text for text in output.splitlines() if text.strip()] == [
        next(text for text in output.splitlines() if line in text)
    ]  # that one line and nothing else


def _host_packages_without(binaries: list[str], run_as: list[str]) -> subprocess.CompletedProcess:
    hide = " && ".join(["true", *(f"mount --bind /dev/null {binary}" for binary in binaries)])
    script = Path(SERVE).parents[1] / "scripts" / "host-packages.sh"
    return subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"{hide} && exec {' '.join(run_as)} sh {script}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="drops to another user with setpriv")
def test_make_serves_installer_prints_the_one_command_where_it_may_not_install():
    done = _host_packages_without([_real("nginx")], ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "serve needs nginx-light: run  sudo apt-get update && sudo apt-get install -y "
        "--no-install-recommends nginx-light"
    )


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="drops to another user with setpriv")
def test_make_serves_installer_asks_for_nginxs_lua_module_where_it_is_missing():
    done = _host_packages_without(
        ["/usr/lib/nginx/modules/ngx_http_lua_module.so"],
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "serve needs libnginx-mod-http-lua: run  sudo apt-get update && sudo apt-get "
        "install -y --no-install-recommends libnginx-mod-http-lua"
    )


def test_make_serves_installer_names_the_packages_where_there_is_no_apt():
    done = _host_packages_without([_real("nginx"), _real("apt-get")], [])
    assert done.returncode == 1
    assert done.stderr.strip().startswith("serve needs nginx-light (Debian package names)")


def test_make_serves_installer_does_nothing_where_both_are_there():
    done = _host_packages_without([], [])
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
