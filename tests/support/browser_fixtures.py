"""One headless Chromium per test session (the system's /usr/bin/chromium), and a log-in helper."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


CSP_MARKERS = ("Content Security Policy", "Refused to")


def csp_violations(messages: list[str]) -> list[str]:
    """The console messages that report a Content-Security-Policy violation."""
    return [text for text in messages if any(marker in text for marker in CSP_MARKERS)]


@pytest.fixture
def tab(chromium, live_server) -> Iterator:
    """A fresh browser context (no cookies) and page, with `tab.base` the live server's URL.

    Every console message is kept in `tab.console`; the test fails at teardown if any of them reports a
    Content-Security-Policy violation (a blocked script, style or frame)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base = live_server.url
    page.console = []
    page.on("console", lambda message: page.console.append(message.text))
    yield page
    context.close()
    violations = csp_violations(page.console)
    assert not violations, f"Content-Security-Policy violations in the console: {violations}"


def log_in(page, username: str, password: str) -> None:
    page.goto(page.base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(page.base + "/")


def shoot(page, name: str, tmp_path: Path) -> Path:
    """A full-page screenshot in the test's tmp dir, to look at when a test fails. The README's screenshots
    are of the demo itself (scripts/screenshots.py), not of these tests' data."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
