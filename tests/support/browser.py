"""A page of the container in a real browser: Debian's chromium, headless, driven by Playwright's Python package.

    with browser_page(stack.url, "docs") as browser:
        browser.page.goto(f"{stack.url}/docs")
        browser.page.get_by_role("button", name="Execute").click()   # Playwright's own waits, no sleeps
        browser.screenshot()                                           # build/browser/docs.png
        assert browser.console_errors == []                            # CSP violations are console errors

Every request the page makes is recorded (`requests`); one to any other origin than the one given is refused before
it leaves the browser, and fails the test when the block ends (the container must need nothing from outside). The
browser is Debian's /usr/bin/chromium (scripts/browser-packages.sh installs it), never one that `playwright install`
downloads. Where it is missing the test skips, except in CI (CI=true), which installs it: there it fails.

A page of another origin calling the container (a CORS test) names it in `others`: then nothing is intercepted, since
Playwright answers CORS preflights itself for intercepted requests, and the container would never see one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.support.missing import skip_or_fail
from tests.support.paths import ROOT

if TYPE_CHECKING:  # imported where a browser runs, after the skip: a test module that never runs one needs no package
    from playwright.sync_api import ConsoleMessage, Page, Request, Route

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "browser"
# Without the background-networking ones, Chromium's own connections (updates, sync, field trials) are refused on a
# closed network and fill the log; --no-sandbox because tests may run as root, where Chromium's sandbox cannot start.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000  # Playwright's waits: a page of the container on a loaded 2-core machine


def chromium_or_skip() -> Path:
    """/usr/bin/chromium, or a skip saying how to get it; in CI (CI=true), which installs it, a failure."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    reason = f"no {CHROMIUM}: scripts/browser-packages.sh installs Debian's chromium"
    skip_or_fail(reason)


def origin_of(url: str) -> str:
    """scheme://host:port; a blob: URL's is the origin inside it, a data: URL's is the page's own (no request)."""
    if url.startswith("blob:"):
        url = url.removeprefix("blob:")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class BrowserPage:
    """One page in a fresh browser profile, with what it did."""

    page: Page
    origin: str
    name: str
    others: tuple[str, ...] = ()  # further origins it may reach (a page of another origin calling the container)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, in order
    foreign: list[str] = field(default_factory=list)  # those to another origin: refused
    console_errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions

    def screenshot(self, suffix: str = "", full_page: bool = True) -> Path:
        """build/browser/<name><suffix>.png: the whole page, or what the window shows (after e.g.
        `locator.scroll_into_view_if_needed()`)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}{suffix}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def _allowed(self, url: str) -> bool:
        self.requests.append(url)
        if url.startswith(("data:", "about:")) or origin_of(url) in (self.origin, *self.others):
            return True
        self.foreign.append(url)
        return False

    def _route(self, route: Route) -> None:
        if self._allowed(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def _watch(self, request: Request) -> None:
        self._allowed(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)


@contextmanager
def browser_page(origin: str, name: str, others: tuple[str, ...] = ()) -> Iterator[BrowserPage]:
    """A page that may talk to `origin` only (scheme://host:port), and to `others` (then with real CORS preflights:
    no request is intercepted); screenshots named after `name`. On an error inside the block a screenshot is kept as
    <name>-failed.png; on leaving, any request to another origin fails the test."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(profile),
                executable_path=str(executable),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
                service_workers="block",
            )
            try:
                context.set_default_timeout(TIMEOUT_MS)
                page = context.pages[0] if context.pages else context.new_page()
                browser = BrowserPage(page, origin_of(origin), name, tuple(origin_of(url) for url in others))
                if browser.others:
                    # While Playwright intercepts requests it answers every CORS preflight itself (a 204 allowing
                    # anything): a page that calls another origin is watched instead, its preflights reach the server,
                    # and a request to an origin not named still fails the test (sent, not refused).
                    context.on("request", browser._watch)
                else:
                    context.route("**/*", browser._route)
                page.on("console", browser._console)
                page.on("pageerror", lambda error: browser.console_errors.append(f"uncaught: {error}"))
                try:
                    yield browser
                except BaseException:
                    try:
                        browser.screenshot("-failed")
                    except Exception:  # noqa: BLE001 (the page may be gone: the test's own error is the one to see)
                        pass
                    raise
                assert browser.foreign == [], (
                    f"the page asked for other origins than {browser.origin}: {browser.foreign}"
                )
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
