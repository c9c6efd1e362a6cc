"""Headless Chromium for page tests: Debian's `chromium`, driven by Playwright's sync API on a
thread of its own. An async test awaits `Chromium.run(steps)`; its event loop stays free
meanwhile to serve the app the browser talks to (`tests.api.conftest.live_app`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
T = TypeVar("T")


def chromium_required() -> bool:
    """Under CI the browser tests run, or fail: they are never skipped."""
    return os.environ.get("CI", "").lower() == "true"


class Chromium:
    """One browser for the test session; each `run` gets a context of its own (no cookies,
    storage or cache of other tests)."""

    def __init__(self) -> None:
        # Playwright objects belong to the thread that made them: one thread does it all.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright: Playwright = self._thread.submit(self._start).result()
        self._browser: Browser = self._thread.submit(self._launch).result()

    @staticmethod
    def _start() -> Playwright:
        return sync_playwright().start()

    def _launch(self) -> Browser:
        return self._playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )

    async def run(
        self,
        steps: Callable[[Page], T],
        *,
        locale: str = "en-GB",
        viewport: ViewportSize = DESKTOP,
    ) -> T:
        """`steps(page)` on a new page of a new context, with this locale (which also sets
        Accept-Language) and viewport; returns what `steps` returns."""

        def in_new_context() -> T:
            context = self._browser.new_context(locale=locale, viewport=viewport)
            try:
                return steps(context.new_page())
            finally:
                context.close()

        return await asyncio.get_running_loop().run_in_executor(self._thread, in_new_context)

    def close(self) -> None:
        self._thread.submit(self._browser.close).result()
        self._thread.submit(self._playwright.stop).result()
        self._thread.shutdown()


def log_in_at_provider(page: Page, subject: str) -> None:
    """On the test provider's consent page, where the app sent the browser: log in."""
    page.fill("input[name=sub]", subject)
    page.get_by_role("button", name="Authorize", exact=True).click()


def open_after_login(page: Page, url: str, subject: str) -> None:
    """Open a page of the app that needs a login: log in as `subject` on the way there."""
    page.goto(url)
    log_in_at_provider(page, subject)
    page.wait_for_url(url)


def fits_the_width(page: Page) -> bool:
    """Nothing sticks out sideways (no horizontal scrolling on a phone)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def accessibility_problems(page: Page) -> list[str]:
    """What axe-core finds wrong on the page as it is now ("rule (impact)"); none is the aim."""
    violations = Axe().run(page).response["violations"]
    return [f"{violation['id']} ({violation['impact']})" for violation in violations]
