"""The pages for everyone, in Chromium and in both languages: the start page leads to the
catalogue (prices as money in the reader's locale, what is out of stock said so, one category
chosen in a form) and to the welcome, which tells a login without a member how to link a card."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from core import products, stock
from core.origin import Origin
from tests.api.conftest import LinkedMember
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import T0, TESTER, unique_ean, unique_slug
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched

# What the pages say, in English and in German.
SAYS: dict[str, tuple[str, str]] = {
    "catalogue": ("See the products and prices", "Produkte und Preise ansehen"),
    "category": ("Category", "Kategorie"),
    "show": ("Show", "Anzeigen"),
    "how": ("How to link a card", "So verknüpfst du eine Karte"),
    "welcome": ("Welcome", "Willkommen"),
    "log in": ("Log in", "Anmelden"),
    "link your card": ("Link your card", "Verknüpfe deine Karte"),
}
# The catalogue's rows: the price as money in the reader's locale, and the stock.
ROWS = {
    "en": {"Club mate": ("€1.50", "12 in stock"), "Crisps": ("€2.25", "Out of stock")},
    "de": {"Club mate": ("1,50\xa0€", "12 vorrätig"), "Crisps": ("2,25\xa0€", "Ausverkauft")},
}


def said(language: str, what: str) -> str:
    english, german = SAYS[what]
    return german if language == "de" else english


@pytest.fixture
async def category(committed_db: AsyncSession) -> str:
    """A category of its own with club mate (12 in stock, 1.50) and crisps (none, 2.25)."""
    name = unique_slug("Snacks")
    for product, price_cents, count in (("Club mate", 150, 12), ("Crisps", 225, 0)):
        ean = unique_ean()
        await products.create(
            committed_db,
            ean=ean,
            name=product,
            price_cents=price_cents,
            now=T0,
            category=name,
            actor=TESTER,
        )
        if count:
            await stock.restock(committed_db, ean, count, Origin(now=T0, actor="test"))
    await committed_db.commit()
    return name


def _rows(page: Page) -> dict[str, tuple[str, str]]:
    """The catalogue's table rows as name → (price, stock), as a reader sees them."""
    rows = page.locator("tbody tr").all()
    cells = [row.locator("td").all_inner_texts() for row in rows]
    return {name: (price, in_stock) for name, price, in_stock in cells}


async def test_a_visitor_finds_the_catalogue_and_how_to_link_a_card_from_the_start_page(
    live_app: LiveApp, chromium: Chromium, category: str
) -> None:
    for language, locale in LANGUAGE_LOCALES.items():

        def visit(page: Page, language: str = language) -> dict[str, object]:
            watch = watched(page)
            page.goto(live_app.url + "/")
            seen: dict[str, object] = {"start": page_problems(page, watch, f"start-{language}")}
            page.get_by_role("button", name=said(language, "catalogue")).click()
            page.get_by_label(said(language, "category")).select_option(category)
            page.get_by_role("button", name=said(language, "show")).click()
            page.wait_for_load_state()
            seen |= {
                "url": page.url,
                "heading": page.get_by_role("heading", level=2).all_inner_texts(),
                "rows": _rows(page),
                "products": page_problems(page, watch, f"products-{language}"),
            }
            page.goto(live_app.url + "/")
            page.get_by_role("link", name=said(language, "how")).click()
            page.wait_for_load_state()
            seen |= {
                "welcome": page.get_by_role("heading", level=1).inner_text(),
                "log in": page.locator("main")
                .get_by_role("button", name=said(language, "log in"))
                .count(),
                "welcome problems": page_problems(page, watch, f"welcome-nobody-{language}"),
            }
            return seen

        seen = await chromium.run(visit, locale=locale)

        assert seen["start"] == seen["products"] == seen["welcome problems"] == []
        assert str(seen["url"]).endswith(f"/products?category={category}")
        assert seen["heading"] == [category]
        assert seen["rows"] == ROWS[language]
        assert (seen["welcome"], seen["log in"]) == (said(language, "welcome"), 1)


async def test_a_login_without_a_member_is_sent_to_the_welcome_and_told_how_to_link_a_card(
    live_app: LiveApp, chromium: Chromium, person: Person
) -> None:
    subject = person("Grace Hopper")

    def log_in_then_read(page: Page) -> dict[str, object]:
        log_in(page, live_app.url, subject)
        watch = watched(page)  # the provider's own page is not ours to check
        seen: dict[str, object] = {"url": page.url}
        for language in ("en", "de"):
            if language == "de":
                page.get_by_role("link", name="Deutsch").click()
                page.wait_for_load_state()
            seen[language] = (
                page.get_by_role("heading", level=1).inner_text(),
                page.locator("main ol li").count(),
                page_problems(page, watch, f"welcome-login-{language}"),
            )
        return seen

    seen = await chromium.run(log_in_then_read)

    assert seen["url"] == f"{live_app.url}/welcome"
    assert seen["en"] == (said("en", "link your card"), 3, [])
    assert seen["de"] == (said("de", "link your card"), 3, [])


async def test_a_member_on_the_welcome_goes_on_to_their_account(
    client: httpx.AsyncClient, linked_member: LinkedMember
) -> None:
    _, headers = await linked_member()

    response = await client.get("/welcome", headers=headers)

    assert (response.status_code, response.headers["location"]) == (303, "/me")


async def test_an_unknown_category_shows_the_whole_catalogue_by_category(
    client: httpx.AsyncClient, committed_db: AsyncSession, category: str
) -> None:
    await products.create(
        committed_db, ean=unique_ean(), name="Pencil", price_cents=50, now=T0, actor=TESTER
    )
    await committed_db.commit()

    chosen = await client.get("/products", params={"category": category})
    unknown = await client.get("/products", params={"category": unique_slug("nothing")})

    assert chosen.status_code == unknown.status_code == 200
    assert (chosen.text.count("<h2>"), chosen.text.count("<tr>")) == (1, 1 + 2)
    assert (
        0
        < unknown.text.index(f"<h2>{category}</h2>")
        < unknown.text.index(
            "<h2>Other products</h2>"  # the pencil, without a category, comes last
        )
    )
