"""What every page must be, checked in Chromium: no serious or critical axe-core finding, no
console error, nothing loaded from another origin, nothing wider than a phone; and a
phone-width screenshot of it kept as a test artifact (`test-artifacts/pages/`, not committed)
for people to look at."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page

from tests.chromium import PHONE

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts" / "pages"
SEVERE = frozenset({"serious", "critical"})
LANGUAGE_LOCALES = {"en": "en-GB", "de": "de-DE"}


@dataclass
class ConsoleWatch:
    """The errors a page wrote to the console or threw, from the moment it is watched."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        # A 403 or 404 page is meant to answer with its status; Chromium logs that as a
        # failed load of the document itself, which is no error of the page's.
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and (
            message.location.get("url") == page.url
        ):
            return
        self.errors.append(f"{message.text} ({message.location.get('url')})")


def watched(page: Page) -> ConsoleWatch:
    watch = ConsoleWatch()
    watch.attach(page)
    return watch


def _file_name(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def page_problems(page: Page, watch: ConsoleWatch, name: str) -> list[str]:
    """Everything wrong with the page as it is now, at phone width; [] is the aim. Leaves a
    screenshot named `name` behind."""
    page.set_viewport_size(PHONE)
    problems = [
        f"axe: {violation['id']} ({violation['impact']}): {violation['help']}"
        for violation in Axe().run(page).response["violations"]
        if violation["impact"] in SEVERE
    ]
    problems += [
        f"loaded from another origin: {url}"
        for url in page.evaluate(
            "performance.getEntriesByType('resource').map(entry => entry.name)"
            ".filter(url => new URL(url).origin !== location.origin)"
        )
    ]
    if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
        problems.append("wider than a phone (390 px): the page scrolls sideways")
    problems += [f"console: {error}" for error in watch.errors]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{_file_name(name)}.png"), full_page=True)
    return problems
