"""What every page shares, in Chromium: the start page in both languages, the language
switch, an unknown address as a page."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from tests.api.conftest import Headers
from tests.chromium import Chromium
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched


async def test_the_start_page_speaks_the_browsers_language(
    live_app: LiveApp, chromium: Chromium
) -> None:
    for language, locale in LANGUAGE_LOCALES.items():

        def open_start(page: Page, language: str = language) -> tuple[str, str, list[str]]:
            watch = watched(page)
            page.goto(live_app.url + "/")
            login = page.get_by_role("button", name="Log in" if language == "en" else "Anmelden")
            return (
                page.get_attribute("html", "lang") or "",
                login.first.inner_text(),
                page_problems(page, watch, f"start-{language}"),
            )

        lang, login, problems = await chromium.run(open_start, locale=locale)
        assert lang == language
        assert login == ("Log in" if language == "en" else "Anmelden")
        assert problems == []


async def test_a_chosen_language_stays_chosen_on_the_next_pages(
    live_app: LiveApp, chromium: Chromium
) -> None:
    def choose_german(page: Page) -> tuple[str, str]:
        page.goto(live_app.url + "/")
        page.get_by_role("link", name="Deutsch").click()
        page.wait_for_load_state()
        after_switch = page.get_attribute("html", "lang") or ""
        page.goto(live_app.url + "/no-such-page")
        return after_switch, page.get_attribute("html", "lang") or ""

    assert await chromium.run(choose_german, locale="en-GB") == ("de", "de")


async def test_an_unknown_address_is_a_page_with_a_way_back(
    live_app: LiveApp, chromium: Chromium
) -> None:
    def open_nowhere(page: Page) -> tuple[int, str, list[str]]:
        watch = watched(page)
        response = page.goto(live_app.url + "/no-such-page")
        assert response is not None
        return (
            response.status,
            page.get_by_role("heading", level=1).inner_text(),
            page_problems(page, watch, "not-found-en"),
        )

    status, heading, problems = await chromium.run(open_nowhere)
    assert (status, heading) == (404, "Page not found")
    assert problems == []


async def test_pages_allow_scripts_and_styles_from_this_site_only(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/", headers={"Accept": "text/html"})
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["cache-control"] == "no-store"


async def test_a_malformed_address_is_the_not_found_page_for_a_browser_and_422_for_programs(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    too_long = "x" * 500
    page = await client.get(
        f"/admin/products?category={too_long}", headers=admin | {"Accept": "text/html"}
    )
    program = await client.get("/api/v1/admin/products/abc/movements?before_id=abc", headers=admin)
    assert page.status_code == 404
    assert "Page not found" in page.text
    assert program.status_code == 422
