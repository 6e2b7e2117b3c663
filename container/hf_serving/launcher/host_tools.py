"""What `serve` needs from the host besides Python: nginx (with its Lua module and Lua's cjson) and a Java runtime,
looked for before anything starts.

On a bare host the launcher must say in one line what is missing and which Debian package provides it, then exit 2,
instead of starting Java and failing with a traceback when nginx cannot be run. The image and .ci/run install both;
`make serve` installs them where it may (scripts/host-packages.sh).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# sbin is off a non-root user's PATH on Debian, but nginx lives there.
_EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


@dataclass(frozen=True)
class HostTool:
    name: str
    debian_package: str


NGINX = HostTool("nginx", "nginx-light")
JAVA = HostTool("java", "openjdk-17-jre-headless")
# nginx's Lua module, which admission control runs on (launcher/admission.py), and the kit it needs.
NGINX_LUA = HostTool("nginx's Lua module", "libnginx-mod-http-lua")
NGINX_MODULE_FILES = ("ndk_http_module.so", "ngx_http_lua_module.so")
# JSON in nginx's Lua (an OpenAI request's "model" on a multi-model endpoint: launcher/lua/routes.lua); Debian's
# lua-cjson, where LuaJIT (Lua 5.1's ABI) looks for it.
LUA_CJSON = HostTool("Lua's cjson module", "lua-cjson")
_CJSON_DIRS = (
    "/usr/lib/x86_64-linux-gnu/lua/5.1",
    "/usr/lib/aarch64-linux-gnu/lua/5.1",
    "/usr/local/lib/lua/5.1",
    "/usr/lib/lua/5.1",
    "/usr/lib64/lua/5.1",
)
# Where Debian, Ubuntu and RPM-based systems put nginx's dynamic modules.
_MODULE_DIRS = ("/usr/lib/nginx/modules", "/usr/share/nginx/modules", "/usr/lib64/nginx/modules", "/etc/nginx/modules")


# PATH and JAVA_HOME are read here, not in settings.py: they are the host's own lookup of programs, which the shell
# and multi-model-server read the same way, and they are looked up before the settings (a host without nginx or Java
# is told so first). Tests pass a mapping of their own.


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def nginx_path(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    search = os.pathsep.join([env.get("PATH", ""), *_EXTRA_DIRS])
    found = shutil.which("nginx", path=search)
    return found if found and _executable(Path(found)) else None


def nginx_modules_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The directory holding nginx's Lua module and its kit: a system's usual places, or beside an nginx elsewhere."""
    nginx = nginx_path(environ)
    beside = [str(Path(nginx).resolve().parent.parent / "lib" / "nginx" / "modules")] if nginx else []
    for directory in (*_MODULE_DIRS, *beside):
        if all((Path(directory) / name).is_file() for name in NGINX_MODULE_FILES):
            return Path(directory)
    return None


def nginx_load_module_lines(environ: Mapping[str, str] | None = None) -> str:
    directory = nginx_modules_dir(environ) or Path(_MODULE_DIRS[0])  # serve checked that there is one
    return "\n".join(f"load_module {directory / name};" for name in NGINX_MODULE_FILES)


def java_path(environ: Mapping[str, str] | None = None) -> str | None:
    """$JAVA_HOME/bin/java when JAVA_HOME is set (multi-model-server's own rule), else java on PATH."""
    env = os.environ if environ is None else environ
    home = env.get("JAVA_HOME", "").strip()
    if home:
        java = Path(home) / "bin" / "java"
        return str(java) if _executable(java) else None
    found = shutil.which("java", path=env.get("PATH", ""))
    return found if found and _executable(Path(found).resolve()) else None


def cjson_path() -> Path | None:
    return next((Path(d) / "cjson.so" for d in _CJSON_DIRS if (Path(d) / "cjson.so").is_file()), None)


def missing(environ: Mapping[str, str] | None = None) -> list[HostTool]:
    found = (
        (NGINX, nginx_path(environ)),
        (NGINX_LUA, nginx_modules_dir(environ)),
        (LUA_CJSON, cjson_path()),
        (JAVA, java_path(environ)),
    )
    return [tool for tool, path in found if path is None]


def describe_missing(tools: list[HostTool], environ: Mapping[str, str] | None = None) -> str:
    """One line: what is missing, and the command that installs it."""
    env = os.environ if environ is None else environ
    names = " and ".join(tool.name for tool in tools)
    where = f" (JAVA_HOME={env['JAVA_HOME']} has no bin/java)" if JAVA in tools and env.get("JAVA_HOME") else ""
    packages = " ".join(tool.debian_package for tool in tools)
    return (
        f"serve needs {names}, which this host lacks{where}: install Debian's "
        f"{packages} (apt-get install -y --no-install-recommends {packages})"
    )
