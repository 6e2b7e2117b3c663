"""GET /docs in headless Chromium (tests/support/browser.py) on the real stack: the page renders with nothing from
outside the container and no CSP violation, lists every operation of the description it serves, and "Try it out" ->
"Execute" on POST /invocations shows the served model's real answer, also behind a path prefix; with SERVE_API_KEY,
401 until Authorize. Screenshots: build/browser/docs*.png."""

from __future__ import annotations

import json

import pytest
import requests

from tests.support.browser import BrowserPage, browser_page
from tests.support.stack import TINY_QA, Stack

pytestmark = pytest.mark.integration

KEY = "browser-test-key-0123456789"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def start(tmp_path_factory, name: str, **env: str):
    yield from Stack(TINY_QA, tmp_path_factory.mktemp(name) / "serve.log", **env).serving()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from start(tmp_path_factory, "docs-browser")


@pytest.fixture(scope="module")
def keyed_stack(tmp_path_factory):
    yield from start(tmp_path_factory, "docs-browser-key", SERVE_API_KEY=KEY)


def open_docs(browser: BrowserPage, stack: Stack) -> None:
    browser.page.goto(f"{stack.url}/docs")
    browser.page.locator(".opblock").first.wait_for()


def execute_invocation(browser: BrowserPage) -> tuple[dict, int, object]:
    """Try it out -> Execute on POST /invocations with its default example: the example sent, the status and the
    JSON body the page shows."""
    operation = browser.page.locator("#operations-inference-invoke")
    if not operation.locator(".opblock-body").is_visible():
        operation.locator(".opblock-summary").click()
    try_it_out = operation.get_by_role("button", name="Try it out")
    try_it_out.or_(operation.get_by_role("button", name="Cancel")).wait_for()  # whichever state it is in
    if try_it_out.is_visible():
        try_it_out.click()
    example = json.loads(operation.locator("textarea.body-param__text").input_value())
    responses = operation.locator(".live-responses-table")
    clear = operation.get_by_role("button", name="Clear")
    if clear.is_visible():  # a previous answer: gone before this one is awaited
        clear.click()
        responses.wait_for(state="detached")
    operation.get_by_role("button", name="Execute").click()
    row = responses.locator("tbody tr.response").first
    row.wait_for()
    row.scroll_into_view_if_needed()  # for a screenshot of the window
    status = int(row.locator(".response-col_status").inner_text().strip())
    shown = json.loads(row.locator(".response-col_description .microlight").first.inner_text())
    return example, status, shown


def test_the_page_renders_with_nothing_from_outside_and_no_console_error(stack):
    with browser_page(stack.url, "docs") as browser:
        open_docs(browser, stack)
        assert browser.page.title() == "hf-serving API"
        assert browser.page.locator(".info .title").inner_text().startswith("hf-serving")
        browser.screenshot()
        assert browser.console_errors == []
        # Everything the page needed came from the container: the page, Swagger UI's files, the description.
        paths = {url.removeprefix(stack.url) for url in browser.requests}
        assert {
            "/docs",
            "/docs/docs.js",
            "/docs/swagger-ui/swagger-ui-bundle.js",
            "/docs/swagger-ui/swagger-ui.css",
            "/openapi.json",
        } <= paths
    # browser_page failed the test here had the page asked for anything outside stack.url.


def test_the_content_security_policy_is_enforced_and_its_violations_are_seen(stack):
    # The check above is worth something only if a violation would show: an inline script must be refused, and said.
    with browser_page(stack.url, "docs-csp") as browser:
        open_docs(browser, stack)
        browser.page.evaluate("""() => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.body.appendChild(script);
        }""")
        assert browser.page.evaluate("() => window.inlineRan === undefined")
        browser.page.wait_for_function("() => true")  # one more round trip: the console message has arrived
        assert any("Content Security Policy" in error for error in browser.console_errors), browser.console_errors


def test_every_operation_of_the_served_description_is_listed(stack):
    document = requests.get(f"{stack.url}/openapi.json", timeout=10).json()
    described = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method in METHODS
    }
    with browser_page(stack.url, "docs-operations") as browser:
        open_docs(browser, stack)
        listed = set()
        for block in browser.page.locator(".opblock").all():
            method = block.locator(".opblock-summary-method").inner_text().strip()
            listed.add((method, block.locator(".opblock-summary-path").get_attribute("data-path")))
    assert listed == described
    assert ("GET", "/docs") in listed and ("POST", "/invocations") in listed


def test_try_it_out_on_invocations_shows_the_served_models_answer(stack):
    with browser_page(stack.url, "docs-try-it-out") as browser:
        open_docs(browser, stack)
        example, status, shown = execute_invocation(browser)
        browser.screenshot(full_page=False)
        assert browser.console_errors == []
        assert f"{stack.url}/invocations" in browser.requests  # same origin, through the description's "." server
    assert set(example) == {"question", "context"}  # the question-answering example: TINY_QA's task comes first
    direct = stack.invoke(example)
    assert (status, shown) == (200, direct.json()) and direct.status_code == 200
    assert example["context"][shown["start"] : shown["end"]] == shown["answer"]


def test_with_an_api_key_execute_is_refused_until_authorize_carries_the_key(keyed_stack):
    with browser_page(keyed_stack.url, "docs-authorize") as browser:
        open_docs(browser, keyed_stack)
        example, status, shown = execute_invocation(browser)
        assert status == 401 and shown["error"]["code"] == "unauthorized"

        page = browser.page
        page.locator(".auth-wrapper .authorize").click()
        dialog = page.locator(".modal-ux")
        api_key = dialog.locator(".auth-container").filter(has_text="ApiKey")
        api_key.locator("input").fill(KEY)
        api_key.get_by_role("button", name="Apply credentials").click()
        api_key.get_by_role("button", name="Remove authorization").wait_for()  # its Logout: authorised
        api_key.get_by_role("button", name="Close").click()
        dialog.wait_for(state="detached")

        example, status, shown = execute_invocation(browser)
        browser.screenshot(full_page=False)
        # Chromium logs the refused call itself; nothing else.
        assert browser.console_errors == [
            "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
        ]
    direct = keyed_stack.invoke(example, X_Api_Key=KEY)
    assert (status, shown) == (200, direct.json())


def test_behind_a_path_prefix_every_url_the_page_uses_stays_under_it(stack):
    # A proxy that serves the container under /prefix/ (played by a route: the browser sees only /prefix/ URLs).
    # The page's relative URLs and the description's "." server must keep every request, Execute's too, under it.
    with browser_page(stack.url, "docs-prefix") as browser:
        proxied = []

        def proxy(route) -> None:
            url = route.request.url
            proxied.append(url.removeprefix(stack.url))
            if not url.startswith(f"{stack.url}/prefix/"):
                route.abort()
                return
            route.fulfill(response=route.fetch(url=url.replace("/prefix/", "/", 1)))

        browser.page.route(f"{stack.url}/**", proxy)
        browser.page.goto(f"{stack.url}/prefix/docs")
        browser.page.locator(".opblock").first.wait_for()
        example, status, shown = execute_invocation(browser)
        assert browser.console_errors == []
    assert status == 200 and shown == stack.invoke(example).json()
    assert {
        "/prefix/docs",
        "/prefix/docs/docs.js",
        "/prefix/docs/swagger-ui/swagger-ui-bundle.js",
        "/prefix/openapi.json",
        "/prefix/invocations",
    } <= set(proxied)
    assert all(path.startswith("/prefix/") for path in proxied), proxied
