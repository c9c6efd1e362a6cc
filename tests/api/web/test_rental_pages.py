"""The rentals page in Chromium: in English and German with an item out, a permission and a
history; adding an item (a taken TID is refused by its field); granting a permission to a
member found by name, and revoking it."""

from __future__ import annotations

import secrets

import httpx
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from core import rentals
from core.formats import DeviceKind
from tests.api.conftest import Headers
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import T0, TESTER, make_device, make_member, unique_tid
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched


async def _drill_out_to_grace(db: AsyncSession) -> str:
    """A drill that Grace Hopper (who may rent) has out since T0; its TID."""
    station = await make_device(db, kind=DeviceKind.RENTAL)
    grace = await make_member(db, name="Grace Hopper")
    await rentals.permit(db, grace.member_id, actor=TESTER, now=T0)
    drill = await rentals.add_item(
        db, tid=unique_tid(), name="Cordless drill", description=None, now=T0, actor=TESTER
    )
    assert grace.card_uid is not None
    await rentals.rent(db, device_id=station.id, card_uid=grace.card_uid, tid=drill.tid, now=T0)
    await db.commit()
    return drill.tid


async def test_the_rentals_page_passes_the_checks_in_both_languages(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    tid = await _drill_out_to_grace(committed_db)
    admin = person("Ada Lovelace", "admin")

    for language, locale in LANGUAGE_LOCALES.items():

        def open_page(page: Page, language: str = language) -> tuple[list[str], str, str]:
            log_in(page, live_app.url, admin, "/admin/rentals")
            watch = watched(page)
            problems = page_problems(page, watch, f"rentals-{language}")
            out_now = page.locator("section[aria-labelledby=out-now]").inner_text()
            row = page.locator("tr", has=page.locator(f"code:text-is('{tid}')")).inner_text()
            return problems, out_now, row

        problems, out_now, row = await chromium.run(open_page, locale=locale)

        assert problems == []
        assert "Cordless drill" in out_now
        assert "Grace Hopper" in out_now
        out_to = "Ausgeliehen an Grace Hopper" if language == "de" else "Out to Grace Hopper"
        assert out_to in row


def _row_of(page: Page, tid: str) -> str:
    return page.locator("tr", has=page.locator(f"code:text-is('{tid}')")).inner_text()


def _add_item(page: Page, tid: str, name: str) -> None:
    page.fill("#f-tid", tid)
    page.fill("#f-name", name)
    page.get_by_role("button", name="Add item").click()
    page.wait_for_load_state()


async def test_an_admin_adds_an_item_takes_it_out_of_service_and_cannot_add_it_twice(
    live_app: LiveApp, chromium: Chromium, person: Person
) -> None:
    admin = person("Ada Lovelace", "admin")
    tid = unique_tid()
    name = f"Soldering station {tid[-6:]}"  # other tests' items share the database

    def add_the_item(page: Page) -> dict[str, object]:
        log_in(page, live_app.url, admin, "/admin/rentals")
        _add_item(page, tid.lower(), name)
        seen: dict[str, object] = {
            "added": page.locator(".notice").inner_text(),
            "listed": _row_of(page, tid),
        }
        page.get_by_role("button", name=f"Take out of service: {name}").click()
        page.wait_for_load_state()
        seen["out of service"] = _row_of(page, tid)
        _add_item(page, tid, "Another station")
        watch = watched(page)
        seen["taken"] = page.locator("#e-tid").inner_text()
        seen["problems"] = page_problems(page, watch, "rentals-taken-tid-en")
        return seen

    seen = await chromium.run(add_the_item)

    assert seen["added"] == f"{name} added."
    assert "Here" in str(seen["listed"])
    assert "Yes" in str(seen["listed"])
    assert "Put back into service" in str(seen["out of service"])
    assert seen["taken"] == "An item with this TID is registered already."
    assert seen["problems"] == []


async def test_an_admin_finds_a_member_by_name_grants_and_revokes_the_permission(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, person: Person
) -> None:
    name = f"Katherine Johnson {secrets.token_hex(3)}"
    await make_member(committed_db, name=name)
    await committed_db.commit()
    admin = person("Ada Lovelace", "admin")

    def grant_and_revoke(page: Page) -> dict[str, object]:
        log_in(page, live_app.url, admin, "/admin/rentals")
        page.fill("#f-q", name.split()[-1])
        page.get_by_role("button", name="Look up").click()
        page.wait_for_load_state()
        watch = watched(page)
        seen: dict[str, object] = {"problems": page_problems(page, watch, "rentals-lookup-en")}
        page.get_by_role("button", name=f"Let rent: {name}").click()
        page.wait_for_load_state()
        permissions = page.locator("section[aria-labelledby=permissions] table")
        seen["granted"] = page.locator(".notice").inner_text()
        seen["listed"] = permissions.inner_text()
        page.get_by_role("button", name=f"Revoke: {name}").click()
        page.wait_for_load_state()
        seen["revoked"] = page.locator(".notice").inner_text()
        seen["still listed"] = page.get_by_role("button", name=f"Revoke: {name}").count()
        return seen

    seen = await chromium.run(grant_and_revoke)

    assert seen["problems"] == []
    assert seen["granted"] == f"{name} may rent items now."
    assert name in str(seen["listed"])
    assert seen["revoked"] == f"{name} may no longer rent items."
    assert seen["still listed"] == 0


async def test_a_malformed_page_or_member_in_the_address_is_a_not_found_page(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    pages = [
        await client.get("/admin/rentals", params={"before_id": "x"}, headers=admin),
        await client.post("/admin/rentals/permissions/99999999999999999999/revoke", headers=admin),
        await client.post("/admin/rentals/items/NOT-HEX/deactivate", headers=admin),
    ]

    assert [(page.status_code, page.headers["content-type"][:9]) for page in pages] == [
        (404, "text/html")
    ] * 3
