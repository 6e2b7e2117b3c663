"""GET /docs, its files, /openapi.json and /openapi.yaml over HTTP, on the real stack: types and headers, the JSON
errors, no API key asked, SERVE_DOCS=off, a package whose Swagger UI files were never fetched, and /metrics' routes.
(tests/integration/test_api_docs_browser.py opens the page in a browser.)"""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import requests
import transformers
import yaml

from tests.support import metrics
from tests.support.paths import ROOT, SERVE
from tests.support.stack import TINY_QA, Stack

pytestmark = pytest.mark.integration

KEY = "docs-test-key-0123456789"
DOCS_OFF = "docs are off (SERVE_DOCS=off)"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from Stack(TINY_QA, tmp_path_factory.mktemp("docs") / "serve.log", SERVE_API_KEY=KEY).serving()


def get(stack: Stack, path: str, method: str = "GET", **headers: str) -> requests.Response:
    return requests.request(method, f"{stack.url}{path}", headers=headers, timeout=10, allow_redirects=False)


def assert_json_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "request_id"} and error["code"] == code
    assert error["request_id"] == response.headers["X-Request-Id"]
    return error["message"]


@pytest.mark.parametrize(
    ("path", "content_type", "starts"),
    [
        ("/docs", "text/html; charset=utf-8", b"<!DOCTYPE html>"),
        ("/docs/docs.js", "text/javascript; charset=utf-8", b"// Starts Swagger UI"),
        ("/docs/swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8", b"/*! For license information"),
        ("/docs/swagger-ui/swagger-ui.css", "text/css; charset=utf-8", b".swagger-ui"),
        ("/docs/swagger-ui/favicon-32x32.png", "image/png", b"\x89PNG"),
        ("/docs/swagger-ui/LICENSE", "text/plain; charset=utf-8", b"\n                                 Apache License"),
        ("/docs/swagger-ui/NOTICE", "text/plain; charset=utf-8", b"swagger-ui"),
        ("/openapi.json", "application/json", b"{"),
        ("/openapi.yaml", "application/yaml", b"openapi: 3.0.3"),
    ],
)
def test_each_file_has_its_type_nosniff_the_request_id_and_needs_no_api_key(stack, path, content_type, starts):
    for method in ("GET", "HEAD"):
        response = get(stack, path, method)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == content_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert len(response.headers["X-Request-Id"]) == 32
        assert response.headers["Cache-Control"] == "no-cache"
    assert get(stack, path).content.startswith(starts)


def test_the_page_carries_a_content_security_policy_of_this_origin_only(stack):
    policy = get(stack, "/docs").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_the_json_and_the_yaml_are_one_document_tailored_to_this_container(stack):
    document = get(stack, "/openapi.json").json()
    assert yaml.safe_load(get(stack, "/openapi.yaml").text) == document
    assert document["servers"][0]["url"] == "."
    assert document["paths"]["/invocations"]["post"]["requestBody"] == {"$ref": "#/components/requestBodies/Invocation"}
    examples = document["components"]["requestBodies"]["Invocation"]["content"]["application/json"]["examples"]
    assert next(iter(examples.values()))["x-task"] == "question-answering"  # TINY_QA's task first
    # The served task's request shapes only, token ids within its tokenizer's vocabulary (registry.read_model_facts).
    shapes = document["components"]["schemas"]["InvocationRequest"]["anyOf"]
    named = [json.dumps(shape) for shape in shapes]
    assert len(named) == 3 and ["QARequest" in named[0], "QAEnvelope" in named[1], "QAList" in named[2]] == [True] * 3
    assert "ExplainedQAInputs" in named[1]  # an explain request holds at most 8 pairs
    vocabulary = len(transformers.AutoTokenizer.from_pretrained(TINY_QA))
    assert document["components"]["schemas"]["TokenId"]["maximum"] == vocabulary - 1
    assert document["security"] == [{"ApiKey": []}, {"Bearer": []}]  # SERVE_API_KEY is set on this stack


@pytest.mark.parametrize(
    "path",
    [
        "/docs/swagger-ui/nope.js",
        "/docs/nope.html",
        "/docs/swagger-ui/",
        "/.docs/page/index.html",
        "/.docs/spec/openapi.json",
    ],
)
def test_a_missing_file_or_a_folder_is_a_json_404(stack, path):
    assert assert_json_error(get(stack, path), 404, "not_found") == "no such file under /docs"


@pytest.mark.parametrize(
    "path", ["/docs", "/docs/docs.js", "/docs/swagger-ui/swagger-ui.css", "/openapi.json", "/openapi.yaml"]
)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_a_json_405(stack, path, method):
    assert assert_json_error(get(stack, path, method), 405, "method_not_allowed") == "use GET for this route"


def test_a_conditional_request_that_fails_is_a_json_412_and_a_range_is_ignored(stack):
    assert_json_error(get(stack, "/docs/docs.js", **{"If-Match": '"not-this"'}), 412, "precondition_failed")
    whole = get(stack, "/openapi.yaml", Range="bytes=999999999-")
    assert whole.status_code == 200 and whole.text.startswith("openapi: 3.0.3")


def test_the_page_with_a_slash_sends_the_browser_to_the_page_relative_to_where_it_is(stack):
    moved = get(stack, "/docs/")
    assert moved.status_code == 301 and moved.headers["Location"] == "../docs"


def test_an_unknown_route_is_json_whatever_its_extension(stack):
    for path in ("/docsx", "/page.html", "/image.gif"):
        assert_json_error(get(stack, path), 404, "not_found")


def test_metrics_count_the_page_and_the_description_under_two_routes(stack):
    key = {"X-Api-Key": KEY}
    before = metrics.scrape(stack.url, **key)
    for path in (
        "/docs",
        "/docs/docs.js",
        "/docs/swagger-ui/swagger-ui.css",
        "/docs/nope",
        "/openapi.json",
        "/openapi.yaml",
    ):
        get(stack, path)
    after = metrics.scrape(stack.url, **key)

    def added(route: str, code: str) -> float:
        return metrics.total(after, "hf_serving_requests_total", route=route, code=code) - metrics.total(
            before, "hf_serving_requests_total", route=route, code=code
        )

    assert (added("/docs", "200"), added("/docs", "404"), added("/openapi", "200")) == (3, 1, 2)
    assert added("other", "404") == 0


def test_off_every_docs_route_is_a_json_404_and_the_banner_says_so(tmp_path):
    running = Stack(TINY_QA, tmp_path / "serve.log", SERVE_DOCS="off").start()
    try:
        running.wait_ready()
        for path in ("/docs", "/docs/docs.js", "/docs/swagger-ui/swagger-ui.css", "/openapi.json", "/openapi.yaml"):
            assert assert_json_error(get(running, path), 404, "not_found") == DOCS_OFF
        assert "docs: off (SERVE_DOCS=off)" in running.log()
    finally:
        running.kill_everything()


def checkout_without_swagger_ui(root) -> Stack:
    """entrypoint/serve and container/ as a package whose owner never ran docs-assets (and the two files they link
    to: docker/nginx.conf, docs/openapi.yaml)."""
    for relative in ("entrypoint/serve", "docker/nginx.conf", "docs/openapi.yaml"):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, root / relative)
    shutil.copytree(
        ROOT / "container",
        root / "container",
        symlinks=True,
        ignore=shutil.ignore_patterns("swagger-ui", "__pycache__"),
    )
    return root / SERVE.relative_to(ROOT)


def test_without_the_swagger_ui_files_the_page_names_the_command_and_the_description_is_served(tmp_path):
    serve = checkout_without_swagger_ui(tmp_path / "checkout")
    running = Stack(TINY_QA, tmp_path / "serve.log", HF_SERVING_PYTHON=sys.executable)
    running.command = [str(serve)]
    running.start()
    try:
        running.wait_ready()
        for path in ("/docs", "/docs/swagger-ui/swagger-ui-bundle.js"):
            message = assert_json_error(get(running, path), 404, "not_found")
            assert "run `python -m hf_serving docs-assets`" in message
        assert get(running, "/openapi.json").json()["openapi"] == "3.0.3"
        assert get(running, "/openapi.yaml").status_code == 200
        warning = [line for line in running.log().splitlines() if "WARNING hf_serving.serve: docs:" in line]
        assert warning and "python -m hf_serving docs-assets" in warning[0], running.log()[-3000:]
    finally:
        running.kill_everything()


def test_the_stack_answers_as_before_with_the_docs_routes_in_place(stack):
    response = stack.invoke(
        {"question": "Which port?", "context": "The container listens on port 8080."}, X_Api_Key=KEY
    )
    assert response.status_code == 200 and set(response.json()) == {"answer", "score", "start", "end"}
    assert json.loads(get(stack, "/ping").text) == {"status": "ready"}
