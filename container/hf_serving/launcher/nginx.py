"""docker/nginx.conf rendered for this start, and the command that runs it in the foreground."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from hf_serving.launcher import host_tools

# Package data: in git a link to docker/nginx.conf (the user's layout keeps the file there), in a wheel the file.
TEMPLATE_PATH = Path(str(files("hf_serving.launcher") / "templates" / "nginx.conf"))
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def render(template: str, values: dict[str, str | int]) -> str:
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise ValueError(f"nginx template needs values for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template)


def write_config(runtime_dir: Path, values: dict[str, str | int], template_path: Path = TEMPLATE_PATH) -> Path:
    # Only the parent: nginx creates its scratch directories itself, owned by its worker user.
    (runtime_dir / "nginx").mkdir(mode=0o755, parents=True, exist_ok=True)
    path = runtime_dir / "nginx.conf"
    path.touch(mode=0o600)  # it may hold the API key
    path.write_text(render(template_path.read_text(), {"RUNTIME_DIR": str(runtime_dir), **values}))
    return path


def nginx_command(config_path: Path) -> list[str]:
    nginx = host_tools.nginx_path() or "nginx"  # serve checked that there is one before starting anything
    return [nginx, "-c", str(config_path), "-p", str(config_path.parent), "-e", "stderr",
            "-g", "daemon off;"]
