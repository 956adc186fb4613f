"""Headless Chromium for the browser tests (marker ``browser``).

Playwright drives Debian's Chromium at /usr/bin/chromium (``scripts/install-browser``
installs it; Playwright's own browser download is never used). While Playwright's sync
API is open an event loop runs in this thread, so Django refuses ORM calls there: a test
does its database work before or after its ``with open_browser(...)`` block, and the app
is served by pytest-django's ``live_server`` from a transactional database.
"""

import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
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
TIMEOUT_MS = 15_000


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pdf_page_screenshot(pdf: Path, name: str, *, page: int = 0) -> Path:
    """Draw one page of a PDF (PDFium) as a PNG under test-artifacts/screenshots/."""
    import pypdfium2

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        document[page].render(scale=2).to_pil().save(path)
    finally:
        document.close()
    return path


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots() -> None:
    """Drop the screenshots of an earlier run, so the folder shows this run only."""
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()


@pytest.fixture
def open_browser(request, tmp_path, live_server) -> Callable[..., AbstractContextManager[Page]]:
    """Give a function opening a fresh Chromium page on the live server.

    Skips when Chromium is missing, except under CI, where the browser tests must run.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run scripts/install-browser (or make browser)."
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but {message}")
        pytest.skip(message)

    @contextmanager
    def _open() -> Iterator[Page]:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"),  # a fresh profile for every test
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                base_url=live_server.url,
                viewport={"width": 1280, "height": 800},
            )
            context.set_default_timeout(TIMEOUT_MS)
            page = context.pages[0] if context.pages else context.new_page()
            try:
                yield page
            except BaseException:
                screenshot(page, re.sub(r"\W+", "-", request.node.name) + "-failure")
                raise
            finally:
                context.close()

    return _open


def admin_login(page: Page, *, email: str, password: str) -> None:
    """Sign in through the admin's own login form."""
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
