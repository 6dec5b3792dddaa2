"""A headless browser for the console tests: Debian's Chromium (/usr/bin/chromium) driven through Playwright.

Playwright's own browser download is never used (`playwright install` is not needed): Playwright launches Debian's
Chromium, which scripts/test installs. Without it the tests skip, unless VLTAVA_REQUIRE_BROWSER is set (then they
fail). The `pages` fixture opens pages that record console errors and uncaught exceptions, and fails the test that
caused any; every page it opened is screenshotted into Tests/interop/artifacts/console/ (or $CONSOLE_ARTIFACTS) when
the test ends, so a failure can be looked at afterwards.

Use: `from browser_support import browser, pages` in a test module (pytest finds fixtures imported into it).
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CONSOLE_ARTIFACTS") or Path(__file__).resolve().parent / "artifacts" / "console")


def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module. Not per session: while Playwright's sync API is open it keeps an
    asyncio event loop running on the main thread, and every later test that calls asyncio.run (aiokafka's) fails
    with "cannot be called from a running event loop"."""
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} missing (Debian's chromium package; scripts/test installs it)"
        if os.environ.get("VLTAVA_REQUIRE_BROWSER"):
            pytest.fail(reason + " and VLTAVA_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.fail(f"playwright is not installed in this Python ({error}); scripts/test installs "
                    "Tests/interop/requirements.txt")
    with sync_playwright() as playwright:
        # We run as root in CI and on the development machines: Chromium's sandbox refuses root.
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield instance
        finally:
            instance.close()


class Pages:
    """Pages of one test. Each records its console errors and page errors; `check()` fails the test with them.

    A page that is expected to log an error (a form answered 4xx logs "Failed to load resource") says so with
    `allow(pattern)`: messages matching the regular expression are not counted."""

    def __init__(self, browser, test_name: str):
        self.browser = browser
        self.test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        self.contexts = []
        self.pages = []
        self.errors = []
        self.allowed = []
        self.shots = 0
        # The screenshots of this test's previous run would mix with this run's.
        for old in ARTIFACTS.glob(f"{self.test_name}-*.png") if ARTIFACTS.is_dir() else []:
            old.unlink()

    def new(self, javascript: bool = True):
        """A new page in a fresh context (own cookies); `javascript=False` opens it with JavaScript disabled."""
        context = self.browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: uncaught {error}"))
        self.pages.append(page)
        return page

    def _console(self, page, message):
        if message.type == "error":
            self.errors.append(f"{page.url}: console error: {message.text}")

    def allow(self, pattern: str):
        """Console errors matching this regular expression do not fail the test."""
        self.allowed.append(re.compile(pattern))

    def unexpected_errors(self):
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def check(self):
        """Fails the test if any page logged a console error or threw."""
        errors = self.unexpected_errors()
        assert not errors, "errors in the browser:\n" + "\n".join(errors)

    def screenshot(self, page, name: str) -> Path:
        """A full-page PNG named after the test, a sequence number and `name`."""
        self.shots += 1
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "page"
        path = artifacts_dir() / f"{self.test_name}-{self.shots:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self):
        for page in self.pages:
            if not page.is_closed():
                try:
                    self.screenshot(page, "end-" + page.url.split("//", 1)[-1].split("/", 1)[-1])
                except Exception:  # noqa: BLE001 - a screenshot is an aid; it never hides the test's own outcome
                    pass
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, request):
    """A page factory for one test: `pages.new()`, `pages.new(javascript=False)`; fails the test (at teardown) if a
    page logged a console error or threw, unless allowed with `pages.allow(pattern)`."""
    recorder = Pages(browser, request.node.name)
    yield recorder
    recorder.close()
    errors = recorder.unexpected_errors()
    if errors:
        pytest.fail("errors in the browser:\n" + "\n".join(errors), pytrace=False)
