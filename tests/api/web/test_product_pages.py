"""The shop admin in Chromium: a product manager adds a product (a mistyped EAN is refused by
the field), edits it, gives it an alias and takes it away, restocks, counts the shelf and reads
the movements, in English and in German; a member without the role gets the 403 page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any

from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from core import members, products
from core.clock import SystemClock
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import TESTER, make_member
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched


def new_ean() -> str:
    digits = f"{secrets.randbelow(10**12):012d}"
    return digits + products.check_digit(digits)


def mistyped(ean: str) -> str:
    return ean[:-1] + str((int(ean[-1]) + 1) % 10)


@dataclass(frozen=True)
class Says:
    """What the pages say in one language."""

    add: str
    save: str
    add_alias: str
    remove: str
    restock: str
    book_in: str
    add_category: str
    show: str
    save_count: str
    bad_check_digit: str
    taken: str
    price: str  # 1.50 as typed
    new_price: str  # 1.80 as typed
    shown_price: str
    shown_new_price: str
    restocked: str
    counted: str
    stocktake: str
    yes: str


SAYS = {
    "en": Says(
        add="Add the product",
        save="Save",
        add_alias="Add the alias",
        remove="Remove",
        restock="Restock",
        book_in="Book them in",
        add_category="Add the category",
        show="Show",
        save_count="Save the count",
        bad_check_digit="The last digit does not fit: please check the EAN.",
        taken="This EAN already names a product.",
        price="1.50",
        new_price="1.80",
        shown_price="€1.50",
        shown_new_price="€1.80",
        restocked="24 added: 24 in stock.",
        counted="Counted 21: the stock was corrected by -3.",
        stocktake="Stocktake",
        yes="yes",
    ),
    "de": Says(
        add="Produkt hinzufügen",
        save="Speichern",
        add_alias="Alias hinzufügen",
        remove="Entfernen",
        restock="Wareneingang",
        book_in="Einbuchen",
        add_category="Kategorie hinzufügen",
        show="Anzeigen",
        save_count="Zählung speichern",
        bad_check_digit="Die letzte Ziffer passt nicht: bitte die EAN prüfen.",
        taken="Diese EAN gehört schon zu einem Produkt.",
        price="1,50",
        new_price="1,80",
        shown_price="1,50\u00a0€",
        shown_new_price="1,80\u00a0€",
        restocked="24 eingebucht: 24 auf Lager.",
        counted="21 gezählt: der Bestand wurde um -3 korrigiert.",
        stocktake="Inventur",
        yes="ja",
    ),
}


def notice(page: Page) -> str:
    return page.locator(".notice").inner_text()


def run_the_shop(page: Page, base_url: str, subject: str, language: str) -> dict[str, Any]:
    """The whole journey; what it saw along the way, and every page's problems."""
    says = SAYS[language]
    ean, alias = new_ean(), new_ean()
    name, category = f"Club-Mate {ean[-4:]}", f"Drinks {ean[-4:]}"
    seen: dict[str, Any] = {}
    problems: list[str] = []
    log_in(page, base_url, subject, "/admin/products")
    watch = watched(page)  # after the provider's own page
    seen["menu"] = page.locator("header nav a").evaluate_all("links => links.map(a => a.pathname)")
    problems += page_problems(page, watch, f"products-{language}")

    page.fill("#f-category-name", category)
    page.get_by_role("button", name=says.add_category).click()
    seen["category added"] = notice(page)

    page.fill("#f-new-ean", mistyped(ean))
    page.fill("#f-new-name", name)
    page.fill("#f-new-price_cents", says.price)
    page.select_option("#f-new-category", category)
    page.get_by_role("button", name=says.add).click()
    seen["ean error"] = page.locator("#e-new-ean").inner_text()
    seen["kept name"] = page.input_value("#f-new-name")
    problems += page_problems(page, watch, f"products-refused-{language}")

    page.fill("#f-new-ean", ean)
    page.get_by_role("button", name=says.add).click()
    seen["added"] = (page.url, page.get_by_role("heading", level=1).inner_text())
    seen["price"] = page.inner_text("#summary")
    problems += page_problems(page, watch, f"product-new-{language}")

    page.fill("#f-edit-price_cents", says.new_price)
    page.get_by_role("button", name=says.save, exact=True).click()
    seen["repriced"] = page.inner_text("#summary")

    page.fill("#f-alias-alias", alias)
    page.get_by_role("button", name=says.add_alias).click()
    seen["aliases"] = page.locator("#aliases ~ ul li").all_inner_texts()
    page.fill("#f-alias-alias", ean)
    page.get_by_role("button", name=says.add_alias).click()
    seen["alias error"] = page.locator("#e-alias-alias").inner_text()
    problems += page_problems(page, watch, f"product-refused-{language}")
    page.get_by_role("button", name=f"{says.remove} {alias}").click()
    seen["aliases after removal"] = page.locator("#aliases ~ ul li").all_inner_texts()

    page.fill("#f-restock-count", "24")
    page.fill("#f-restock-note", "delivery 4711")
    page.get_by_role("button", name=says.book_in).click()
    seen["restocked"] = notice(page)
    page.fill("#f-stocktake-counted", "21")
    page.get_by_role("button", name=says.save_count).click()
    seen["counted"] = notice(page)
    rows = page.locator("#movements ~ figure tbody tr")
    seen["movements"] = [row.locator("td").all_inner_texts()[1:] for row in rows.all()]
    problems += page_problems(page, watch, f"product-stocked-{language}")

    page.goto(f"{base_url}/admin/products")
    page.select_option("#f-filter", category)
    page.get_by_role("button", name=says.show).click()
    seen["listed"] = [
        row.locator("td").all_inner_texts() for row in page.locator("main > figure tbody tr").all()
    ]
    problems += page_problems(page, watch, f"products-of-a-category-{language}")
    seen["problems"] = problems
    return {"ean": ean, "alias": alias, "name": name, "category": category, **seen}


async def test_a_product_manager_runs_the_shop_in_english_and_german(
    live_app: LiveApp, chromium: Chromium, person: Person
) -> None:
    manager = person("Paula Pfand", "shop")
    for language, locale in LANGUAGE_LOCALES.items():
        says = SAYS[language]

        seen = await chromium.run(
            partial(run_the_shop, base_url=live_app.url, subject=manager, language=language),
            locale=locale,
        )

        ean, name, category = seen["ean"], seen["name"], seen["category"]
        assert category in seen["category added"]
        assert "/admin/products" in seen["menu"]
        assert not {"/admin", "/admin/devices", "/admin/members"} & set(seen["menu"])
        assert (seen["ean error"], seen["kept name"]) == (says.bad_check_digit, name)
        assert seen["added"] == (f"{live_app.url}/admin/products/{ean}", name)
        assert says.shown_price in seen["price"]
        assert says.shown_new_price in seen["repriced"]
        assert [seen["alias"] in line for line in seen["aliases"]] == [True]
        assert seen["alias error"] == says.taken
        assert seen["aliases after removal"] == []
        assert (seen["restocked"], seen["counted"]) == (says.restocked, says.counted)
        assert seen["movements"] == [
            [says.stocktake, "-3", "21", manager],
            [f"{says.restock}\ndelivery 4711", "+24", "24", manager],
        ]
        assert seen["listed"] == [
            [f"{name}\n{ean}", says.shown_new_price, "21", category, says.yes]
        ]
        assert seen["problems"] == []


async def test_a_member_without_the_shop_role_gets_the_403_page(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    subject = person("Max Muster")
    member = await make_member(committed_db, name="Max Muster")
    await members.link_login(
        committed_db, member.member_id, subject, actor=TESTER, now=SystemClock().now()
    )
    await committed_db.commit()

    def open_the_shop_admin(page: Page) -> tuple[int, str, list[str]]:
        log_in(page, live_app.url, subject, "/")
        watch = watched(page)
        response = page.goto(f"{live_app.url}/admin/products")
        assert response is not None
        heading = page.get_by_role("heading", level=1).inner_text()
        return response.status, heading, page_problems(page, watch, "products-not-for-you-en")

    assert await chromium.run(open_the_shop_admin) == (403, "This page is not for you", [])
