"""The cash box pages in Chromium: the list and a month's statement in English and German,
the statement's figures adding up, creating a box (a bad slug is refused by its field)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import parse_decimal
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.web.cash_box_data import box_with_a_november
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import unique_slug
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched

BABEL_LOCALES = {"en": "en_GB", "de": "de_DE"}


def _euros(shown: str, language: str) -> Decimal:
    """A figure as the page shows it (`-30,00 €`, `-€30.00`) as a number."""
    digits = shown.replace("€", "").replace("\u00a0", "").strip()
    return parse_decimal(digits, locale=BABEL_LOCALES[language])


async def test_the_list_and_a_months_statement_pass_the_checks_and_add_up(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    slug = await box_with_a_november(committed_db, name="Kaffeekasse", payout_note="Milk")
    admin = person("Ada Lovelace", "admin")

    for language, locale in LANGUAGE_LOCALES.items():

        def open_pages(page: Page, language: str = language) -> dict[str, object]:
            log_in(page, live_app.url, admin, "/admin/cash-boxes")
            watch = watched(page)
            problems = page_problems(page, watch, f"cash-boxes-{language}")
            page.click(f'a[href="/admin/cash-boxes/{slug}"]')
            page.wait_for_load_state()
            page.fill("input[name=month]", "2026-11")
            page.locator("form[method=get] button[type=submit]").click()
            page.wait_for_load_state()
            problems += page_problems(page, watch, f"cash-box-statement-{language}")
            totals = {
                name: page.locator(f"[data-total={name}]").inner_text()
                for name in ("opening", "in", "out", "closing")
            }
            amounts = page.locator("[data-amount]").all_inner_texts()
            page.get_by_role(
                "link", name="Dezember 2026" if language == "de" else "December 2026"
            ).click()
            page.wait_for_load_state()
            return {
                "problems": problems,
                "totals": totals,
                "amounts": amounts,
                "next month": page.url,
                "main": page.inner_text("main"),
            }

        seen = await chromium.run(open_pages, locale=locale)

        assert seen["problems"] == []
        totals = {name: _euros(text, language) for name, text in seen["totals"].items()}  # type: ignore[attr-defined]
        amounts = [_euros(text, language) for text in seen["amounts"]]  # type: ignore[attr-defined]
        assert totals == {
            "opening": Decimal("100.00"),
            "in": Decimal("13.25"),
            "out": Decimal("30.00"),
            "closing": Decimal("83.25"),
        }
        assert totals["opening"] + totals["in"] - totals["out"] == totals["closing"]
        assert sum(amounts) == totals["in"] - totals["out"]
        assert str(seen["next month"]).endswith(f"/admin/cash-boxes/{slug}?month=2026-12")
        assert (
            "In diesem Monat keine Buchungen." if language == "de" else "No entries in this month."
        ) in str(seen["main"])


async def test_a_bad_slug_is_refused_by_its_field_and_a_good_one_makes_the_box(
    live_app: LiveApp, chromium: Chromium, person: Person
) -> None:
    admin = person("Ada Lovelace", "admin")
    slug = unique_slug("new-box")

    def create_boxes(page: Page) -> dict[str, object]:
        log_in(page, live_app.url, admin, "/admin/cash-boxes")
        watch = watched(page)
        page.fill("input[name=slug]", "Not A Slug!")
        page.fill("input[name=name]", "Werkzeugkasse")
        page.get_by_role("button", name="Create cash box").click()
        page.wait_for_load_state()
        refused = {
            "error": page.locator("#e-slug").inner_text(),
            "invalid": page.get_attribute("#f-slug", "aria-invalid"),
            "name kept": page.input_value("#f-name"),
            "problems": page_problems(page, watch, "cash-boxes-bad-slug-en"),
        }
        page.fill("input[name=slug]", slug)
        page.get_by_role("button", name="Create cash box").click()
        page.wait_for_load_state()
        return {
            **refused,
            "url": page.url,
            "heading": page.locator("h1").inner_text(),
            "notice": page.locator(".notice").inner_text(),
        }

    seen = await chromium.run(create_boxes)

    assert seen["error"] == "This does not have the expected form."
    assert (seen["invalid"], seen["name kept"]) == ("true", "Werkzeugkasse")
    assert seen["problems"] == []
    assert str(seen["url"]).endswith(f"/admin/cash-boxes/{slug}")
    assert (seen["heading"], seen["notice"]) == ("Werkzeugkasse", "Cash box Werkzeugkasse created.")
