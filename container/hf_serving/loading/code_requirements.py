"""code/requirements.txt, pip-installed into a directory of its own (INSTALL_CODE_REQUIREMENTS=true): at start for a
single-model endpoint, at each model's load for a multi-model one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def install(requirements: Path, target: Path) -> str | None:
    """Install into `target` (not the venv: the image's venv belongs to root and serve runs as a user); None when
    it worked, else pip's exit status and its last line of output."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-input", "--target", str(target), "-r", str(requirements)],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        return None
    last = (result.stderr or result.stdout).strip().splitlines()[-1:] or [""]
    return f"exit {result.returncode}: {last[0][:300]}"
