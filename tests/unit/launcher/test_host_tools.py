"""nginx and Java looked for on the host before serve starts anything: PATH, sbin, JAVA_HOME; one line if missing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hf_serving.launcher import host_tools


def _tool(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_java_home_wins_over_path_and_a_java_home_without_java_is_missing(tmp_path):
    on_path = _tool(tmp_path / "bin", "java")
    home = tmp_path / "jdk"
    in_home = _tool(home / "bin", "java")
    assert host_tools.java_path({"PATH": str(on_path.parent), "JAVA_HOME": str(home)}) == str(in_home)
    assert host_tools.java_path({"PATH": str(on_path.parent)}) == str(on_path)
    assert host_tools.java_path({"PATH": str(on_path.parent), "JAVA_HOME": str(tmp_path / "nothing")}) is None


def test_a_file_that_is_not_executable_is_not_a_tool(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").write_text("not a program")
    assert host_tools.java_path({"PATH": str(tmp_path / "bin")}) is None


def test_missing_names_each_tool_and_its_debian_package_in_one_line(tmp_path):
    env = {"PATH": str(tmp_path / "empty")}
    lacking = host_tools.missing(env)
    if host_tools.nginx_path(env) is not None:  # nginx in /usr/sbin is found whatever PATH says
        assert lacking == [host_tools.JAVA]
        lacking = [host_tools.NGINX, host_tools.JAVA]
    line = host_tools.describe_missing(lacking, env)
    assert "\n" not in line
    assert line == (
        "serve needs nginx and java, which this host lacks: install Debian's nginx-light "
        "openjdk-17-jre-headless (apt-get install -y --no-install-recommends nginx-light "
        "openjdk-17-jre-headless)"
    )


def test_a_wrong_java_home_is_named(tmp_path):
    env = {"PATH": "", "JAVA_HOME": str(tmp_path)}
    assert f"(JAVA_HOME={tmp_path} has no bin/java)" in host_tools.describe_missing([host_tools.JAVA], env)


def test_this_host_has_both():
    assert host_tools.missing() == [], os.environ.get("PATH")


def test_nginx_lua_module_is_found_in_a_system_directory_or_beside_an_nginx_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setattr(host_tools, "_MODULE_DIRS", (str(tmp_path / "system"),))
    nginx = _tool(tmp_path / "opt" / "sbin", "nginx")
    env = {"PATH": str(nginx.parent)}
    assert host_tools.nginx_modules_dir(env) is None
    assert host_tools.NGINX_LUA in host_tools.missing(env)
    assert "libnginx-mod-http-lua" in host_tools.describe_missing([host_tools.NGINX_LUA], env)
    beside = tmp_path / "opt" / "lib" / "nginx" / "modules"
    beside.mkdir(parents=True)
    for name in host_tools.NGINX_MODULE_FILES:
        (beside / name).write_bytes(b"")
    assert host_tools.nginx_modules_dir(env) == beside
    assert host_tools.nginx_load_module_lines(env).splitlines() == [
        f"load_module {beside}/ndk_http_module.so;",
        f"load_module {beside}/ngx_http_lua_module.so;",
    ]
