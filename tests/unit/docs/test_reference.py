"""The site's reference pages (docs/reference/) are complete and say what the code does.

Configuration is a hand-written page checked here against what `Settings.from_environ()` really asks its environment
for; errors and routes are generated at build time by docs/hooks/reference.py, whose output is checked here for every
code and every route; the metric table is checked against the metric names the code defines.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest

from hf_serving import error_catalogue, routes
from hf_serving.settings import Settings
from hf_serving.tasks.registry import ALIASES

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT / "docs" / "reference"
CONTAINER = ROOT / "container"
API_KEY = "a-key-of-sixteen-chars"

# Variables the container reads outside settings.py, each where it is read. The configuration page lists them too;
# a variable Settings reads belongs to Settings' set, not here.
READ_ELSEWHERE = {
    "HF_SERVING_PYTHON": ROOT / "entrypoint" / "serve",  # before any Python runs: which Python to run
    "JAVA_HOME": CONTAINER / "hf_serving" / "launcher" / "host_tools.py",  # multi-model-server's own rule for Java
}

# Environments that reach the reads a default environment skips: each branch of from_environ that reads a variable
# only when another says so (a key on a multi-model endpoint, capture on, a token given, Batch Transform, Redis).
ENVIRONMENTS: tuple[dict[str, str], ...] = (
    {},
    {"SAGEMAKER_MULTI_MODEL": "true", "SERVE_API_KEY": API_KEY},
    {"SERVE_API_KEY": API_KEY, "SERVE_METRICS": "key"},
    {
        "DATA_CAPTURE_PERCENT": "10",
        "DATA_CAPTURE_DESTINATION": "/tmp/capture",
        "DATA_CAPTURE_ENDPOINT_NAME": "endpoint",
        "DATA_CAPTURE_VARIANT_NAME": "variant",
        "DRIFT_BASELINE": "/tmp/baseline.json",
    },
    {"HF_TOKEN": "hf_token", "HF_MODEL_ID": "org/model", "SAGEMAKER_BATCH": "true"},
    {"RESPONSE_CACHE": "redis://cache:6379/0", "SERVE_CORS_ORIGINS": "https://app.example.com"},
)


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers every variable asked for, whether it was set or not."""

    def __init__(self, values: dict[str, str], asked: set[str]) -> None:
        self._values = values
        self._asked = asked

    def __getitem__(self, name: str) -> str:
        self._asked.add(name)
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self._asked.add(name)
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        # Settings asks for variables by name: one that lists the environment would read names it cannot know.
        raise AssertionError("Settings.from_environ iterated over the environment")

    def __len__(self) -> int:
        return len(self._values)


def settings_reads() -> set[str]:
    asked: set[str] = set()
    for values in ENVIRONMENTS:
        Settings.from_environ(RecordingEnviron(values, asked))
    return asked


def table_rows(markdown: str) -> list[list[str]]:
    """The rows (cells) of every table in the Markdown, rules left out (headers stay: no test looks one up)."""
    return [
        [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        for line in markdown.splitlines()
        if line.startswith("| ") and not line.startswith("|---")
    ]


def page_tables(page: Path) -> list[list[str]]:
    return table_rows(page.read_text())


def configuration_rows() -> dict[str, list[str]]:
    """The configuration page's rows by each variable their first cell names (`HF_TOKEN` (or `HF_API_TOKEN`): two)."""
    rows: dict[str, list[str]] = {}
    for row in page_tables(REFERENCE / "configuration.md"):
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row[0]):
            assert name not in rows, f"{name} has two rows on docs/reference/configuration.md"
            rows[name] = row
    return rows


def test_the_recording_sees_every_variable_the_environments_set():
    # Each environment is one Settings accepts (from_environ raised nothing), and the recording saw what it set.
    assert {name for values in ENVIRONMENTS for name in values} <= settings_reads()


def test_the_configuration_page_lists_exactly_the_variables_the_container_reads():
    documented = set(configuration_rows())
    read = settings_reads() | set(READ_ELSEWHERE)
    assert read - documented == set(), "read but not on docs/reference/configuration.md"
    assert documented - read == set(), "on docs/reference/configuration.md but read by nobody"


@pytest.mark.parametrize("name", sorted(READ_ELSEWHERE))
def test_a_variable_read_elsewhere_is_read_there_and_not_by_settings(name):
    assert name not in settings_reads(), f"Settings reads {name}: take it out of READ_ELSEWHERE"
    source = READ_ELSEWHERE[name].read_text()
    # A mapping's .get("NAME") or ["NAME"], "NAME" in a mapping, or the shell's ${NAME...}.
    forms = (
        rf"\.get\(\s*[\"']{name}[\"']",
        rf"\[\s*[\"']{name}[\"']\s*\]",
        rf"[\"']{name}[\"'] (?:not )?in ",
        rf"\$\{{{name}\b",
    )
    read = re.search("|".join(forms), source)
    assert read, f"{READ_ELSEWHERE[name]} does not read {name}"


def test_every_row_says_a_default_and_a_meaning():
    for name, row in configuration_rows().items():
        assert len(row) == 3 and row[1] and row[2], f"{name}: {row}"


def test_hf_task_names_every_task_and_alias_it_accepts():
    row = configuration_rows()["HF_TASK"]
    named = set(re.findall(r"`([a-z-]+)`", row[2]))
    assert set(ALIASES) - named == set(), "HF_TASK's row misses task names"


# --------------------------------------------------------------------------------------------------------------
# The generated pages


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_reference_hook", ROOT / "docs" / "hooks" / "reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOK = load_hook()


def built(page: str) -> str:
    """The page's Markdown as the site shows it: its markers replaced by the hook."""
    source = (REFERENCE / page).read_text()
    return HOOK.fill(source)


@pytest.mark.parametrize("page, marker", [("errors.md", "errors"), ("routes.md", "routes")])
def test_the_reference_page_asks_for_its_generated_table(page, marker):
    assert f"<!-- generated: {marker} -->" in (REFERENCE / page).read_text().splitlines()


@pytest.mark.parametrize("code", sorted(error_catalogue.CODES))
def test_the_errors_page_lists_every_code_with_its_status_and_meaning(code):
    entry = error_catalogue.CODES[code]
    rows = {row[1]: row for row in table_rows(built("errors.md")) if len(row) == 3}
    assert rows[f"`{code}`"] == [str(entry.status), f"`{code}`", entry.meaning.replace("|", "\\|")]


@pytest.mark.parametrize("protocol", list(error_catalogue.Protocol), ids=lambda protocol: protocol.value)
def test_the_errors_page_shows_each_protocols_error_shape(protocol):
    shape = error_catalogue.error_document(protocol, HOOK.EXAMPLE_CODE, HOOK.EXAMPLE_MESSAGE, HOOK.EXAMPLE_REQUEST_ID)
    assert json.dumps(shape, indent=2) in built("errors.md")


@pytest.mark.parametrize("route", routes.ROUTES, ids=[route.path for route in routes.ROUTES])
def test_the_routes_page_lists_every_route_with_its_methods_protocol_and_kind(route):
    rows = {row[0]: row for row in table_rows(built("routes.md"))}
    row = rows[f"`{route.path}`"]
    assert row[1] == ", ".join(route.methods)
    assert (row[3], row[4]) == (route.protocol.value, route.kind.value)
    assert row[6], f"{route.path} has no summary"


@pytest.mark.parametrize("page", ["errors.md", "routes.md"])
def test_the_table_committed_in_the_page_is_the_one_the_code_gives(page):
    """GitHub shows the file as committed: its table must be today's (`make docs-tables` rewrites it)."""
    source = (REFERENCE / page).read_text()
    assert f"<!-- end generated: {page.removesuffix('.md')} -->" in source.splitlines()
    assert HOOK.fill(source) == source, f"docs/reference/{page}'s table is out of date: run make docs-tables"


def test_a_bare_marker_and_a_stale_table_are_both_filled_with_todays_table():
    today = HOOK.fill("<!-- generated: errors -->\n")
    stale = "<!-- generated: errors -->\n| old | table |\n<!-- end generated: errors -->\n"
    assert HOOK.fill(stale) == today
    assert "| old | table |" not in today and "`not_ready`" in today
    assert HOOK.fill(today) == today


def test_an_unknown_marker_fails_the_build_naming_it():
    with pytest.raises(ValueError, match="'nope'"):
        HOOK.fill("# Page\n\n<!-- generated: nope -->\n")


def test_the_hook_imports_nothing_beyond_the_standard_library_and_yaml():
    # The site builds in .venv-docs, which holds MkDocs and no serving stack: error_catalogue.py and routes.py (and
    # what they import) must stay plain Python.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); before = set(sys.modules); "
        "from hf_serving import error_catalogue, routes; print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe, str(CONTAINER)], check=True, capture_output=True, text=True
    ).stdout.split()
    assert "hf_serving.routes" in loaded
    foreign = {name for name in loaded if name.split(".")[0] not in (*sys.stdlib_module_names, "hf_serving")}
    assert foreign == set()


# --------------------------------------------------------------------------------------------------------------
# The metric table


def defined_metrics() -> set[str]:
    """Every metric name the code defines: the workers' (prometheus_client, which adds a counter's _total) and nginx's
    (launcher/lua/metrics.lua)."""
    names = set()
    for path in (CONTAINER / "hf_serving").rglob("*"):
        if path.suffix in (".py", ".lua"):
            names |= set(re.findall(r"""["'](hf_serving_[a-z0-9_]+)["']""", path.read_text()))
    return names


def test_the_metric_table_lists_every_metric_the_code_defines():
    documented = {row[0].strip("`") for row in page_tables(REFERENCE / "metrics.md") if row[0].startswith("`hf_")}
    defined = defined_metrics()
    missing = {name for name in defined if name not in documented and f"{name}_total" not in documented}
    unknown = {name for name in documented if name not in defined and name.removesuffix("_total") not in defined}
    assert missing == set(), "defined but not on docs/reference/metrics.md"
    assert unknown == set(), "on docs/reference/metrics.md but defined nowhere"
