"""Headless Debian Chromium driven by Playwright for Python (never ``playwright install``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.dashboard.pages import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
PHONE, DESKTOP = 360, 1280
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def launch() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGS, headless=True
        )
        yield browser
        browser.close()


def open_page(browser: Browser, width: int) -> tuple[Page, list[str]]:
    """A fresh browser context (no cookies) at ``width``; the list collects console errors,
    which is where a Content-Security-Policy violation would show."""
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def log_in(page: Page, base: str, phone: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base}/escalations")


def shoot(page: Page, name: str, width: int, db_kind: str) -> None:
    """test-artifacts/screenshots/<database>/<page>-<width>.png"""
    folder = SCREENSHOTS / db_kind
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)


def fits(page: Page, width: int) -> bool:
    """Nothing wider than the screen (wide tables scroll inside their own box)."""
    scroll_width: int = page.evaluate("document.documentElement.scrollWidth")
    return scroll_width <= width
