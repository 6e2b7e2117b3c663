"""A minimal pure-Python wheel built on the spot: code/requirements.txt can name it and pip needs no network."""

from __future__ import annotations

import zipfile
from pathlib import Path


def module_wheel(directory: Path, name: str, source: str) -> Path:
    """A wheel of one module, `name`.py holding `source`; a copy per directory (two may share a name)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name}.py", source)
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path
