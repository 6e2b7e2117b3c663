"""The package's floors run one way: launcher -> multi_model -> serving -> protocols -> loading -> engines and tasks ->
formats and observability, settings -> errors and the error catalogue; caching (the response cache) beside serving,
on observability; monitoring (prediction metrics, drift) beside observability; the route table (routes.py) and an
answered item's outcome (monitoring/outcomes.py) are data every floor may read.

An import that goes up (a task reaching into another task, a format importing a task, task code importing torch)
is the first sign that the tree no longer shows the architecture; this test names the file and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hf_serving

PACKAGE = Path(hf_serving.__file__).parent
# The error catalogue and the route table are data every layer reads (error_catalogue.py, routes.py).
BASE_MODULES = {
    "settings",
    "errors",
    "deadline",
    "hardware",
    "cgroup_cpu",
    "processes_alive",  # psutil's "alive and not a zombie", asked by every floor that counts processes
    "loopback",
    "error_catalogue",
    "routes",
    # What an answered item predicted, and monitoring's failure count: every floor that answers reports
    # to them (a task's outcome, a record's, a request's), and they know none of those floors.
    "monitoring.outcomes",
    "monitoring.failures",
}
# What each part may import from hf_serving (by first component after "hf_serving."), besides itself.
# observability sits on the floor beside formats: every layer reports to it (task code tells the stage clock what it
# does), and it knows none of them.
MAY_IMPORT = {
    "formats": BASE_MODULES,
    "observability": BASE_MODULES,
    "engines": BASE_MODULES,
    # The response cache: a model's answers kept by item; the handler attaches it, the task code calls it.
    "caching": BASE_MODULES | {"observability"},
    "tasks": BASE_MODULES | {"formats", "engines.base", "observability"},
    "loading": BASE_MODULES | {"formats", "engines", "tasks", "observability"},
    # The protocols' adapters: another protocol's request turned into a task's own, over the tasks' parsers.
    "protocols": BASE_MODULES | {"formats", "tasks"},
    "serving": BASE_MODULES
    | {"caching", "formats", "engines", "tasks", "loading", "observability", "protocols", "monitoring"},
    "multi_model": BASE_MODULES
    | {"caching", "formats", "engines", "tasks", "loading", "serving", "observability", "protocols", "monitoring"},
    # Prediction monitoring: what each worker does with its answered items (metrics, drift), on the floor beside
    # observability; the handler builds its observers.
    "monitoring": BASE_MODULES | {"observability", "formats"},
    # /docs: the page, its pinned files and the description served; the launcher writes and serves them.
    "api_docs": BASE_MODULES,
    "launcher": BASE_MODULES
    | {
        "caching",
        "formats",
        "engines",
        "tasks",
        "loading",
        "serving",
        "multi_model",
        "observability",
        "api_docs",
        "protocols",
        "monitoring",
    },
    "tools": BASE_MODULES
    | {
        "caching",
        "formats",
        "engines",
        "tasks",
        "loading",
        "serving",
        "multi_model",
        "launcher",
        "observability",
        "api_docs",
        "protocols",
        "monitoring",
    },
}
# Libraries that belong to an engine: task code sees arrays only.
ENGINE_LIBRARIES = ("torch", "openvino")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend([node.module] + [f"{node.module}.{alias.name}" for alias in node.names])
    return found


def _modules(part: str) -> list[Path]:
    return sorted((PACKAGE / part).rglob("*.py"))


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_each_part_imports_only_what_is_below_it(part):
    wrong = []
    for path in _modules(part):
        for name in _imports(path):
            if not name.startswith("hf_serving.") or name.startswith(f"hf_serving.{part}"):
                continue
            target = name.removeprefix("hf_serving.")
            if not any(target == allowed or target.startswith(f"{allowed}.") for allowed in MAY_IMPORT[part]):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert wrong == []


def test_task_code_never_imports_an_engine_library_and_no_task_imports_another():
    wrong = []
    tasks = {path.name for path in (PACKAGE / "tasks").iterdir() if path.is_dir() and path.name != "__pycache__"}
    for path in _modules("tasks"):
        own = path.relative_to(PACKAGE / "tasks").parts[0]
        for name in _imports(path):
            if name.split(".")[0] in ENGINE_LIBRARIES:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
            parts = name.split(".")
            if parts[:2] == ["hf_serving", "tasks"] and len(parts) > 2 and parts[2] in tasks - {own}:
                if path.name != "registry.py":  # the table is the one place that knows every task
                    wrong.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert wrong == []
    assert {"question_answering", "text_classification", "sentence_embeddings", "feature_extraction"} <= tasks
