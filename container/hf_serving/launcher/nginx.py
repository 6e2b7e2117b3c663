"""docker/nginx.conf rendered for this start, and the command that runs it in the foreground."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from hf_serving.error_catalogue import Protocol, nginx_return
from hf_serving.launcher import host_tools

# Package data: in git a link to docker/nginx.conf (the user's layout keeps the file there), in a wheel the file.
TEMPLATE_PATH = Path(str(files("hf_serving.launcher") / "templates" / "nginx.conf"))
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
# An error nginx answers itself, written in the template as {{ERROR:code:message}} (the public server: its own request
# id) or {{INNER_ERROR:code:message}} (the inner hop: the public request's id): the status and the body's shape come
# from the catalogue (error_catalogue.py). Filled after the values, so a message may hold one ({{MAX_PAYLOAD_MB}}).
_ERROR = re.compile(r"\{\{(INNER_)?ERROR:([a-z_]+):(.*?)\}\}")


def render(template: str, values: dict[str, str | int]) -> str:
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise ValueError(f"nginx template needs values for {', '.join(missing)}")
    filled = _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template)
    return _ERROR.sub(_error_return, filled)


def _error_return(match: re.Match[str]) -> str:
    request_id = "$http_x_request_id" if match.group(1) else "$request_id"
    return nginx_return(Protocol.SAGEMAKER, match.group(2), match.group(3), request_id)


def write_config(runtime_dir: Path, values: dict[str, str | int], template_path: Path = TEMPLATE_PATH) -> Path:
    # Only the parent: nginx creates its scratch directories itself, owned by its worker user.
    (runtime_dir / "nginx").mkdir(mode=0o755, parents=True, exist_ok=True)
    path = runtime_dir / "nginx.conf"
    path.touch(mode=0o600)  # it may hold the API key
    path.write_text(render(template_path.read_text(), {"RUNTIME_DIR": str(runtime_dir), **values}))
    return path


def nginx_command(config_path: Path) -> list[str]:
    nginx = host_tools.nginx_path() or "nginx"  # serve checked that there is one before starting anything
    return [nginx, "-c", str(config_path), "-p", str(config_path.parent), "-e", "stderr", "-g", "daemon off;"]
