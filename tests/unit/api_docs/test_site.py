"""The start-up line about /docs: what is served, and a warning where the page was asked for but cannot be."""

from __future__ import annotations

from hf_serving.api_docs import site
from hf_serving.api_docs.assets import Pin

PIN = Pin("5.36.0", "https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-5.36.0.tgz", "sha512-x")


def test_the_line_says_what_is_served_and_warns_only_when_the_files_are_missing():
    assert site.describe(True, PIN) == (
        False,
        "docs: /docs (Swagger UI, swagger-ui-dist 5.36.0), /openapi.json, /openapi.yaml; no API key",
    )
    warning, line = site.describe(True, None)
    assert warning and line.startswith("docs: /openapi.json and /openapi.yaml only; ")
    assert "run `python -m hf_serving docs-assets`" in line
    assert site.describe(False, None) == (
        False,
        "docs: off (SERVE_DOCS=off): /docs, /openapi.json and /openapi.yaml answer 404",
    )


def test_the_page_is_ours_with_no_inline_script_and_only_relative_urls():
    page = (site.PAGE_DIR / "index.html").read_text(encoding="utf-8")
    assert '<script src="docs/swagger-ui/swagger-ui-bundle.js"></script>' in page
    assert '<script src="docs/docs.js"></script>' in page
    assert "<script>" not in page and "<style" not in page and " style=" not in page  # the CSP allows neither
    assert "http://" not in page and "https://" not in page and 'src="/' not in page and 'href="/' not in page
    initializer = (site.PAGE_DIR / "docs.js").read_text(encoding="utf-8")
    assert 'url: "openapi.json"' in initializer and "validatorUrl: null" in initializer
