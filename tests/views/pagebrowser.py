"""The headless Chromium that the page tests (and the page benchmark) drive with Playwright.

Debian's `chromium` package, never a browser Playwright downloads: `.ci/run` installs it with
apt where it runs as root. Without Playwright or a Chromium the page tests skip, saying which.
Every page is served from one made-up address through Playwright's router, which refuses (and
records) any other request, so a test sees anything the page tries to fetch.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PAGE_URL = "http://gradwalk.invalid/page.html"
VIEWPORT = {"width": 1280, "height": 800}  # a laptop screen: what "above the fold" means


def chromium_path() -> str | None:
    """The system Chromium: $GRADWALK_CHROMIUM, else /usr/bin/chromium or one on PATH."""
    given = os.environ.get("GRADWALK_CHROMIUM")
    if given:
        return given if os.access(given, os.X_OK) else None
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable() -> str | None:
    """Why the page cannot be opened in a browser here, or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if chromium_path() is None:
        return "no Chromium here (apt-get install chromium, or set GRADWALK_CHROMIUM)"
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """A browser context with a fresh profile of its own, closed (and the profile removed) after."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="gradwalk-chromium-") as profile:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True,
                viewport=VIEWPORT, service_workers="block")
            try:
                yield context
            finally:
                context.close()


class Opened:
    """A page opened in the browser, with what it fetched and what it logged as errors."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.fetched: list[str] = []  # every request but the page itself
        self.errors: list[str] = []  # console errors and uncaught exceptions


def open_page(context: Any, html: str, *, url: str = PAGE_URL) -> Opened:
    """Open `html` as the page at `url`; refuse every other request and keep a list of them."""
    page = context.new_page()
    opened = Opened(page)

    def route(r: Any) -> None:
        if r.request.url == url:
            r.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")
        else:
            opened.fetched.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))
    page.goto(url)
    if page.locator("iframe").count() == 0:  # a page in a frame (a notebook's) waits on its own
        page.wait_for_selector("html[data-ready=true]", timeout=30_000)
    return opened
