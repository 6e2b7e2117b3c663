"""CORS on the real stack (SERVE_CORS_ORIGINS, hf_serving/launcher/cors.py): a listed origin's preflight answered at the
edge without the API key nor an admission slot, CORS headers on every response to it (nginx's own errors included),
none for an unlisted origin; off by default. Then in headless Chromium (tests/support/browser.py), a page served from
another origin (a second port on 127.0.0.1) calls POST /invocations with fetch() and X-Api-Key: it gets the answer
when its origin is listed, and fetch() fails with a TypeError when it is not. Screenshots: build/browser/cors-*.png."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from hf_serving.launcher import cors
from tests.support import metrics
from tests.support.browser import browser_page
from tests.support.stack import TINY_QA, Stack

pytestmark = pytest.mark.integration

KEY = "cors-test-key-0123456789"
GOOD = {"question": "Which port?", "context": "The container listens on port 8080."}
OTHER = "https://app.example.com"  # listed too: the list has more than the page's origin

# The page of the other origin: fetch() POST /invocations as a web app would, and show what came back.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>another origin</title></head>
<body><h1>A page of another origin</h1><pre id="answer">not called yet</pre>
<script>
async function invoke(url, key, body) {
  const shown = document.getElementById("answer");
  try {
    const headers = {"Content-Type": "application/json"};
    if (key) headers["X-Api-Key"] = key;
    const response = await fetch(url + "/invocations", {method: "POST", headers, body: JSON.stringify(body)});
    const result = {status: response.status, body: await response.json(),
                    requestId: response.headers.get("X-Request-Id"), timing: response.headers.get("Server-Timing")};
    shown.textContent = JSON.stringify(result, null, 2);
    return result;
  } catch (error) {
    shown.textContent = error.name + ": " + error.message;
    return {error: error.name, message: error.message};
  }
}
</script></body></html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # the test log need not list the page's requests
        pass


class Pages:
    """The page, served by Python's http.server from two ports: one origin listed, the other not."""

    def __init__(self, directory: Path) -> None:
        (directory / "index.html").write_text(PAGE)
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(2)]
        self.listed, self.unlisted = (f"http://127.0.0.1:{server.server_address[1]}" for server in self.servers)
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Iterator[Pages]:
    served = Pages(tmp_path_factory.mktemp("cors-page"))
    yield served
    served.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pages):
    yield from Stack(
        TINY_QA,
        tmp_path_factory.mktemp("cors") / "serve.log",
        SERVE_API_KEY=KEY,
        SERVE_CORS_ORIGINS=f"{pages.listed},{OTHER}",
    ).serving()


@pytest.fixture(scope="module")
def default_stack(tmp_path_factory):
    yield from Stack(TINY_QA, tmp_path_factory.mktemp("cors-off") / "serve.log").serving()


def preflight(stack: Stack, origin: str, path: str = "/invocations") -> requests.Response:
    return requests.options(
        f"{stack.url}{path}",
        timeout=10,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
        },
    )


def cors_headers(response: requests.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.lower().startswith("access-control-")}


def assert_cors_for(response: requests.Response, origin: str) -> None:
    assert response.headers["Access-Control-Allow-Origin"] == origin
    exposed = {name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Request-Id", "Server-Timing", "Retry-After", "X-Cache"} <= exposed
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_listed_origins_preflight_is_answered_at_the_edge_without_the_key(stack, pages):
    for origin in (pages.listed, OTHER):
        answer = preflight(stack, origin)
        assert answer.status_code == 204 and answer.content == b""
        assert_cors_for(answer, origin)
        assert answer.headers["Access-Control-Allow-Methods"] == "GET, HEAD, POST, DELETE"
        assert answer.headers["Access-Control-Allow-Headers"] == ", ".join(cors.ALLOWED_HEADERS)
        assert answer.headers["Access-Control-Max-Age"] == "7200"
        assert answer.headers["X-Request-Id"] and "total;dur=" in answer.headers["Server-Timing"]


def test_a_preflight_takes_no_admission_slot_and_is_counted_apart_from_its_route(stack, pages):
    before, admitted_before = metrics.scrape(stack.url), stack.admission()
    for _ in range(3):
        assert preflight(stack, pages.listed).status_code == 204
    after, admitted_after = metrics.scrape(stack.url), stack.admission()

    def added(**labels: str) -> float:
        return metrics.total(after, "hf_serving_requests_total", **labels) - metrics.total(
            before, "hf_serving_requests_total", **labels
        )

    assert added(route="preflight", code="204") == 3
    assert added(route="/invocations") == 0
    counts = ("admitted_at_once", "admitted_after_wait", "refused_predicted", "refused_waited")
    assert [admitted_after[c] for c in counts] == [admitted_before[c] for c in counts]


def test_an_unlisted_origins_preflight_gets_the_routes_answer_and_no_cors_header(stack):
    for origin in ("https://evil.example", "https://app.example.com.evil.example", "http://app.example.com", "null"):
        answer = preflight(stack, origin)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
        assert cors_headers(answer) == {}, origin
        assert answer.headers["Vary"] == "Origin"  # a cache must not hand it to a listed origin


def test_every_answer_to_a_listed_origin_carries_the_cors_headers_nginxs_own_errors_included(stack, pages):
    origin = {"Origin": pages.listed}
    keyed = {**origin, "X-Api-Key": KEY}
    answered = stack.invoke(GOOD, **keyed)
    assert answered.status_code == 200 and "answer" in answered.json()
    assert_cors_for(answered, pages.listed)
    errors = {
        401: stack.invoke(GOOD, **origin),  # no key
        404: requests.get(f"{stack.url}/nope", headers=keyed, timeout=10),
        405: requests.get(f"{stack.url}/invocations", headers=keyed, timeout=10),
        413: stack.invoke(data=b"x" * (7 * 1024 * 1024), **keyed),
        400: stack.invoke(data=b"{not json", **keyed),  # the handler's own
    }
    for status, response in errors.items():
        assert response.status_code == status, (status, response.text)
        assert "error" in response.json()
        assert_cors_for(response, pages.listed)
    # The description (served from a location with headers of its own), /ping, and a route rendered from the route
    # table answered at the edge (KServe v2's liveness).
    for path in ("/openapi.json", "/ping", "/v2/health/live"):
        assert_cors_for(requests.get(f"{stack.url}{path}", headers=origin, timeout=10), pages.listed)
    # A protocol route's own error shape (OpenAI's), from the edge, and its preflight.
    refused = requests.post(f"{stack.url}/v1/embeddings", json={"input": "hi"}, headers=origin, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_error"
    assert_cors_for(refused, pages.listed)
    answered = preflight(stack, pages.listed, "/v1/embeddings")
    assert answered.status_code == 204 and answered.content == b""
    assert answered.headers["Access-Control-Allow-Origin"] == pages.listed
    assert "Authorization" in answered.headers["Access-Control-Allow-Headers"]


def test_an_options_request_that_is_no_preflight_gets_its_routes_answer(stack, pages):
    # No Access-Control-Request-Method: an ordinary OPTIONS, refused by the route as before (with CORS headers).
    answer = requests.options(
        f"{stack.url}/invocations", headers={"Origin": pages.listed, "X-Api-Key": KEY}, timeout=10
    )
    assert answer.status_code == 405 and answer.json()["error"]["code"] == "method_not_allowed"
    assert_cors_for(answer, pages.listed)


def test_without_an_origin_no_cors_header_is_sent(stack):
    answered = stack.invoke(GOOD, X_Api_Key=KEY)
    assert answered.status_code == 200 and cors_headers(answered) == {}


def test_off_by_default_a_preflight_gets_todays_405_and_no_cors_header(default_stack):
    answer = preflight(default_stack, "https://app.example.com")
    assert answer.status_code == 405 and answer.json()["error"]["code"] == "method_not_allowed"
    assert cors_headers(answer) == {} and "Vary" not in answer.headers
    answered = default_stack.invoke(GOOD, Origin="https://app.example.com")
    assert answered.status_code == 200 and cors_headers(answered) == {} and "Vary" not in answered.headers
    assert "CORS: off (SERVE_CORS_ORIGINS)" in default_stack.log()


def call_from_page(stack: Stack, page_origin: str, name: str, key: str) -> dict:
    with browser_page(page_origin, name, others=(stack.url,)) as browser:
        browser.page.goto(f"{page_origin}/index.html")
        result = browser.page.evaluate("([url, key, body]) => invoke(url, key, body)", [stack.url, key, GOOD])
        browser.screenshot()
        result["console_errors"] = browser.console_errors
        return result


def test_a_page_of_a_listed_origin_gets_the_answer_in_the_browser(stack, pages):
    before = metrics.scrape(stack.url)
    result = call_from_page(stack, pages.listed, "cors-listed", KEY)
    assert result["status"] == 200, result
    # The browser asked first (X-Api-Key and a JSON body are not CORS-safelisted), and the edge answered it.
    assert (
        metrics.total(metrics.scrape(stack.url), "hf_serving_requests_total", route="preflight", code="204")
        - metrics.total(before, "hf_serving_requests_total", route="preflight", code="204")
        == 1
    )
    assert result["body"] == stack.invoke(GOOD, X_Api_Key=KEY).json()
    # Headers the page may read only because they are exposed.
    assert result["requestId"] and "total;dur=" in result["timing"]
    # An error is readable too (its CORS headers are sent always): the page sees the 401 and its message.
    refused = call_from_page(stack, pages.listed, "cors-listed-wrong-key", "wrong-key-0123456789")
    assert refused["status"] == 401 and refused["body"]["error"]["code"] == "unauthorized"


def test_a_page_of_an_unlisted_origin_is_refused_by_the_browser(stack, pages):
    result = call_from_page(stack, pages.unlisted, "cors-unlisted", KEY)
    assert result["error"] == "TypeError", result
    assert any("CORS policy" in error for error in result["console_errors"]), result["console_errors"]
