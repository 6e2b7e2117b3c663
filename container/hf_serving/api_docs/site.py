"""What nginx serves under /docs: our page (committed) and the pinned Swagger UI files (fetched), and the start-up
line that says which of them this container has."""

from __future__ import annotations

from pathlib import Path

from hf_serving.api_docs.assets import ASSETS_DIR, COMMAND, PACKAGE, Pin

PAGE_DIR = Path(__file__).with_name("page")  # index.html and its initializer, docs.js
__all__ = ["ASSETS_DIR", "PAGE_DIR", "describe", "missing_message"]


def missing_message() -> str:
    """What GET /docs answers (a 404) where the Swagger UI files were never fetched."""
    # No quotes: nginx answers it from a single-quoted JSON string.
    return (
        f"the Swagger UI files of /docs are not installed: run `{COMMAND}` (make install and the image build do "
        "it); /openapi.json and /openapi.yaml are served"
    )


def describe(enabled: bool, assets: Pin | None) -> tuple[bool, str]:
    """The banner's line about /docs, and whether it is a warning (the page was asked for but cannot be served)."""
    if not enabled:
        return False, "docs: off (SERVE_DOCS=off): /docs, /openapi.json and /openapi.yaml answer 404"
    if assets is None:
        return True, f"docs: /openapi.json and /openapi.yaml only; {missing_message()}"
    return False, f"docs: /docs (Swagger UI, {PACKAGE} {assets.version}), /openapi.json, /openapi.yaml; no API key"
