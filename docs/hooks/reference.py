"""The reference pages' tables, generated from the code's own at every build, so that they cannot drift from it.

A page asks for a table with a marker on a line of its own (`<!-- generated: errors -->`, `<!-- generated: routes -->`).
The table sits in the page's file after it, up to `<!-- end generated: NAME -->`, so that the page reads whole where
Markdown is shown as it is (GitHub); `make docs-tables` (this file run as a program) rewrites those tables, and a test
fails while a committed one differs from what the code gives. MkDocs calls `on_page_markdown` (mkdocs.yml, `hooks:`)
and renders the table afresh at every build all the same. The tables come from
container/hf_serving/error_catalogue.py (every error code, its status and meaning, and each protocol's error shape)
and container/hf_serving/routes.py (every route), each route's summary from docs/openapi.yaml, the description that
/docs serves. Those two modules import only the standard library, so the site builds in .venv-docs without the
serving stack (tests/unit/docs/test_reference.py keeps them so).

tests/unit/docs/test_reference.py calls the render functions below and checks that every code and every route is on
the page.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "docs" / "openapi.yaml"
# A marker and the table it holds (up to its end marker), or a marker alone (a page that has never been filled).
MARKER = re.compile(
    r"^<!-- generated: (?P<name>[a-z-]+) -->\n(?:.*?\n)?<!-- end generated: (?P=name) -->$"
    r"|^<!-- generated: (?P<bare>[a-z-]+) -->$",
    re.M | re.S,
)
PAGES = ROOT / "docs" / "reference"

# This checkout's code, ahead of any installed hf_serving: the site documents the tree it is built from.
if str(ROOT / "container") not in sys.path:
    sys.path.insert(0, str(ROOT / "container"))

from hf_serving import error_catalogue, routes  # noqa: E402

# The example every protocol's shape is shown with: a code each protocol answers (a worker's refusal while loading).
EXAMPLE_CODE = "not_ready"
EXAMPLE_MESSAGE = "the model is not ready"
EXAMPLE_REQUEST_ID = "172b16c31c79135fcda20b5b9f3af12a"

PROTOCOL_NAMES = {
    error_catalogue.Protocol.SAGEMAKER: "The container's own",
    error_catalogue.Protocol.OPENAI: "OpenAI",
    error_catalogue.Protocol.TEI: "text-embeddings-inference (TEI)",
    error_catalogue.Protocol.KSERVE: "KServe (v1 and v2)",
}
ANSWERER_WORDS = {  # docs/reference/routes.md says what each means
    routes.Answerer.WORKER: "workers",
    routes.Answerer.EDGE: "nginx",
    routes.Answerer.TEMPLATE: "nginx.conf",
}
MODEL_FROM_WORDS = {
    routes.ModelFrom.NONE: "none",
    routes.ModelFrom.PATH: "the path's `{name}`",
    routes.ModelFrom.BODY: "the body's `model`",
    routes.ModelFrom.ALL: "every model",
}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _protocol_routes(protocol: error_catalogue.Protocol) -> str:
    paths = [f"`{route.path}`" for route in routes.ROUTES if route.protocol is protocol]
    return ", ".join(paths)


def render_errors() -> str:
    """Every code with its status and meaning; what OpenAI's and TEI's bodies call it; each protocol's body."""
    entries = sorted(error_catalogue.CODES.values(), key=lambda entry: (entry.status, entry.code))
    codes = _table(
        ("status", "code", "when"),
        [(str(entry.status), f"`{entry.code}`", entry.meaning) for entry in entries],
    )

    def field(protocol: error_catalogue.Protocol, code: str, name: str) -> str:
        document = error_catalogue.error_document(protocol, code, "", None)
        inner = document["error"] if isinstance(document["error"], dict) else document
        return f"`{inner[name]}`"

    types = _table(
        ("code", "status", "OpenAI's `type`", "TEI's `error_type`"),
        [
            (
                f"`{entry.code}`",
                str(entry.status),
                field(error_catalogue.Protocol.OPENAI, entry.code, "type"),
                field(error_catalogue.Protocol.TEI, entry.code, "error_type"),
            )
            for entry in entries
        ],
    )
    shapes = []
    for protocol in error_catalogue.Protocol:
        body = error_catalogue.error_document(protocol, EXAMPLE_CODE, EXAMPLE_MESSAGE, EXAMPLE_REQUEST_ID)
        shapes.append(
            f"### {PROTOCOL_NAMES[protocol]}\n\n"
            f"Routes: {_protocol_routes(protocol)}.\n\n"
            f"```json\n{json.dumps(body, indent=2)}\n```"
        )
    return "\n\n".join(
        [
            "## Codes\n",
            codes,
            "## Each protocol's shape\n\n"
            "A route answers an error in its protocol's shape, so that the protocol's own clients show the message; "
            f"the `{EXAMPLE_CODE}` error ({error_catalogue.CODES[EXAMPLE_CODE].status}) as each shape writes it:",
            *shapes,
            "### OpenAI's and TEI's names for each code\n\n"
            "OpenAI's SDK and TEI's clients read a type beside the message; the `code` field keeps the container's.",
            types,
        ]
    )


def _spec_paths(spec_path: Path) -> dict[str, dict[str, Any]]:
    spec = yaml.safe_load(spec_path.read_text())
    return spec["paths"]


def _described_paths(route: routes.Route, paths: dict[str, dict[str, Any]]) -> list[str]:
    """The description's paths a route answers: its own, or (/openapi) its files' (/openapi.json, /openapi.yaml)."""
    if route.path in paths:
        return [route.path]
    return [path for path in paths if path.startswith(route.path + ".")]


def _summary(route: routes.Route, paths: dict[str, dict[str, Any]]) -> str:
    parts = []
    for path in _described_paths(route, paths):
        for method in route.methods:
            operation = paths[path].get(method.lower())
            if operation and operation.get("summary"):
                where = f"`{path}` " if path != route.path else ""
                parts.append(f"{where}{method}: {operation['summary']}")
    return "; ".join(parts) or route.summary


def render_routes(spec_path: Path = OPENAPI) -> str:
    """Every route of the route table, its summary from the OpenAPI description; then the description's paths that
    are no row of their own (aliases such as /predict)."""
    paths = _spec_paths(spec_path)
    table = _table(
        ("path", "methods", "answered by", "protocol", "kind", "model (multi-model)", "summary"),
        [
            (
                f"`{route.path}`",
                ", ".join(route.methods),
                ANSWERER_WORDS[route.answerer],
                route.protocol.value,
                route.kind.value,
                MODEL_FROM_WORDS[route.model_from],
                _summary(route, paths),
            )
            for route in routes.ROUTES
        ],
    )
    covered = {path for route in routes.ROUTES for path in _described_paths(route, paths)}
    others = [
        (f"`{path}`", ", ".join(method.upper() for method in operations), operations[next(iter(operations))]["summary"])
        for path, operations in paths.items()
        if path not in covered
    ]
    sections = [
        table,
        "*model (multi-model)*: where a request on a multi-model endpoint names its model; *none*: the route names "
        "no model (TEI's routes, which serve one model, answer on a single-model endpoint only).",
    ]
    if others:
        sections += [
            "## Other paths of the description\n\nPaths the description names that share a row above "
            "(counted in /metrics under that row's path):",
            _table(("path", "methods", "summary"), others),
        ]
    return "\n\n".join(sections)


GENERATED: dict[str, Callable[[], str]] = {"errors": render_errors, "routes": render_routes}


def fill(markdown: str) -> str:
    """The page with each marker replaced by its table; an unknown marker fails the build, naming it."""

    def table(found: re.Match[str]) -> str:
        name = found.group("name") or found.group("bare")
        render = GENERATED.get(name)
        if render is None:
            raise ValueError(f"no generated table named {name!r}: use one of {', '.join(GENERATED)}")
        return f"<!-- generated: {name} -->\n{render().rstrip()}\n<!-- end generated: {name} -->"

    return MARKER.sub(table, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return fill(markdown)


def write_pages(pages: Path = PAGES) -> list[Path]:
    """Rewrite the tables held in the reference pages' files; the pages changed."""
    changed = []
    for path in sorted(pages.glob("*.md")):
        text = path.read_text()
        filled = fill(text)
        if filled != text:
            path.write_text(filled)
            changed.append(path)
    return changed


if __name__ == "__main__":
    for changed in write_pages():
        print(f"rewrote {changed.relative_to(ROOT)}")
