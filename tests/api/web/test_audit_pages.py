"""The audit trail pages in Chromium: both languages at phone width, a change an admin makes on
another page shows up there under their name, the filters by entity and by person, a member who
is no admin refused, and a lab technician reading the lending workflow's share at /lab/audit."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from core import members, rentals
from core.audit import Actor
from core.members import link_login
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import T0, TESTER, make_member, unique_slug, unique_tid
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched

NOT_FOR_YOU = "This page is not for you"


def _heading(page: Page) -> str:
    return page.get_by_role("heading", level=1).inner_text()


def _cells(page: Page) -> list[list[str]]:
    """The trail's rows as shown, cell by cell."""
    return [row.split("\t") for row in page.locator("tbody tr").all_inner_texts()]


async def test_ada_reads_the_trail_in_english_and_german(
    live_app: LiveApp, chromium: Chromium, person: Person, committed_db: AsyncSession
) -> None:
    ada = person("Ada Lovelace", "admin")
    member = await make_member(committed_db, balance_cents=1000)
    await members.correct_balance(
        committed_db,
        member.member_id,
        250,
        reason="cash found",
        now=T0,
        actor=Actor.person(ada, "Ada Lovelace"),
    )
    await committed_db.commit()
    for language, locale in LANGUAGE_LOCALES.items():

        def look(page: Page, language: str = language) -> dict[str, Any]:
            log_in(page, live_app.url, ada, "/admin")
            watch = watched(page)
            page.goto(f"{live_app.url}/admin/audit?actor={ada}")
            return {
                "heading": _heading(page),
                "current": page.locator("nav.sections [aria-current=page]").inner_text(),
                "rows": _cells(page),
                "problems": page_problems(page, watch, f"admin-audit-{language}"),
            }

        seen = await chromium.run(look, locale=locale)

        member_word = {"en": "Member", "de": "Mitglied"}[language]
        assert seen["heading"] == {"en": "Audit trail", "de": "Änderungsprotokoll"}[language]
        assert seen["current"] == seen["heading"]
        assert [cells[1:] for cells in seen["rows"]] == [
            [
                "Ada Lovelace",
                f"{member_word} {member.member_id}",
                "correct_balance",
                "balance_cents=1000",
                "balance_cents=1250",
                "cash found",
            ]
        ]
        assert seen["problems"] == []


async def test_a_change_on_a_member_page_is_found_by_entity_and_by_person(
    live_app: LiveApp, chromium: Chromium, person: Person, committed_db: AsyncSession
) -> None:
    ada = person("Ada Lovelace", "admin")
    member = await make_member(committed_db, name="Grace Hopper")
    await committed_db.commit()

    def change_then_look(page: Page) -> dict[str, Any]:
        log_in(page, live_app.url, ada, f"/admin/members/{member.member_id}")
        page.fill("#f-credit_limit_cents", "25.00")
        page.get_by_role("button", name="Save the credit limit").click()
        page.wait_for_load_state()
        page.goto(live_app.url + "/admin/audit")
        page.select_option("#f-entity", "member")
        page.fill("#f-entity_id", str(member.member_id))
        page.get_by_role("button", name="Filter", exact=True).click()
        page.wait_for_load_state()
        seen: dict[str, Any] = {"by_entity": _cells(page)}
        page.get_by_role("link", name="Ada Lovelace").first.click()
        page.wait_for_load_state()
        return seen | {"by_person_url": page.url, "by_person": _cells(page)}

    seen = await chromium.run(change_then_look, locale="en-GB")

    change = ["Ada Lovelace", f"Member {member.member_id}", "set_credit_limit"]
    created = f"name=Grace Hopper card={member.card_uid} balance_cents=0"
    assert [cells[1:] for cells in seen["by_entity"]] == [
        [*change, "credit_limit_cents=0", "credit_limit_cents=2500", ""],
        ["test", f"Member {member.member_id}", "create", "", created, ""],
    ]
    assert re.search(rf"[?&]actor={re.escape(ada)}(&|$)", seen["by_person_url"])
    assert [cells[1:4] for cells in seen["by_person"]] == [change]


async def test_a_member_who_is_no_admin_gets_the_not_for_you_page(
    live_app: LiveApp, chromium: Chromium, person: Person, committed_db: AsyncSession
) -> None:
    grace = person("Grace Hopper")
    member = await make_member(committed_db, name="Grace Hopper")
    await link_login(committed_db, member.member_id, grace, actor=TESTER, now=T0)
    await committed_db.commit()

    def open_the_trail(page: Page) -> tuple[int, str]:
        log_in(page, live_app.url, grace, "/me")
        response = page.goto(live_app.url + "/admin/audit")
        assert response is not None
        return response.status, _heading(page)

    assert await chromium.run(open_the_trail) == (403, NOT_FOR_YOU)


async def test_a_technician_reads_the_lending_share_and_not_the_admins_trail(
    live_app: LiveApp, chromium: Chromium, person: Person, committed_db: AsyncSession
) -> None:
    tom = person("Tom Kilburn", "lab")
    tid = unique_tid()
    ada = Actor.person(unique_slug("ada"), "Ada Lovelace")
    await rentals.add_item(
        committed_db, tid=tid, name="Cordless drill", description=None, actor=ada, now=T0
    )
    member = await make_member(committed_db, balance_cents=1000)
    await members.correct_balance(
        committed_db, member.member_id, 250, reason="cash found", now=T0, actor=ada
    )
    await committed_db.commit()

    def look(page: Page) -> dict[str, Any]:
        log_in(page, live_app.url, tom, "/lab")
        page.get_by_role("link", name="Audit trail").click()
        page.wait_for_load_state()
        choices = page.locator("#f-entity option").all_inner_texts()
        page.get_by_role("link", name="Ada Lovelace").first.click()
        page.wait_for_load_state()
        rows = _cells(page)
        admins = page.goto(live_app.url + "/admin/audit")
        assert admins is not None
        return {"choices": choices, "rows": rows, "admins": (admins.status, _heading(page))}

    seen = await chromium.run(look, locale="en-GB")

    assert set(seen["choices"]) <= {"Everything", "Project", "Equipment request", "Rental item"}
    assert [cells[1:5] for cells in seen["rows"]] == [
        ["Ada Lovelace", f"Rental item {tid}", "create", ""]
    ]
    assert seen["admins"] == (403, NOT_FOR_YOU)
