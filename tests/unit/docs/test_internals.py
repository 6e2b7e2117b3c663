"""docs/internals/index.md's "Where things live" names every part of the package: each subpackage as `name/`, each
top-level module as `name.py`, and each module of a subpackage somewhere on its row. A module added without a word
there fails here, naming it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import hf_serving

PACKAGE = Path(hf_serving.__file__).parent
PAGE = Path(__file__).resolve().parents[3] / "docs" / "internals" / "index.md"


def where_things_live() -> dict[str, str]:
    """The table's rows by their first cell's first name (`launcher/`, `settings.py`, ...)."""
    text = PAGE.read_text().split("## Where things live", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            first, rest = line[2:].split(" | ", 1)
            for name in re.findall(r"`([^`]+)`", first):
                rows[name] = rest
    return rows


def subpackages() -> list[str]:
    return sorted(path.parent.name for path in PACKAGE.glob("*/__init__.py"))


def modules_of(subpackage: str) -> list[str]:
    """Its modules and subpackages, as the table names them (`serve.py`, `openvino/`), __init__ left out."""
    directory = PACKAGE / subpackage
    modules = [path.name for path in directory.glob("*.py") if path.name != "__init__.py"]
    packages = [f"{path.parent.name}/" for path in directory.glob("*/__init__.py")]
    return sorted(modules + packages)


def test_every_top_level_module_has_a_row():
    modules = sorted(path.name for path in PACKAGE.glob("*.py") if path.name != "__init__.py")
    assert [name for name in modules if name not in where_things_live()] == []


@pytest.mark.parametrize("subpackage", subpackages())
def test_every_subpackage_has_a_row_naming_each_of_its_modules(subpackage):
    rows = where_things_live()
    assert f"{subpackage}/" in rows, f"{subpackage}/ has no row in docs/internals/index.md"
    row = rows[f"{subpackage}/"]
    assert [name for name in modules_of(subpackage) if f"`{name}`" not in row] == []
