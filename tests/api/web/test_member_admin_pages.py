"""The admin's member pages in Chromium: ada finds a member by name and by the end of a card
UID, and on their page corrects the balance, sets the credit limit, adds, blocks and unblocks
cards, sets and removes a PIN and links a login; every refusal shows beside its field, in the
page's language, and changes nothing. Every page passes the page checks in English and German.

Setup goes through `committed_db` and is committed before the browser runs; what the pages
changed is read back the same way afterwards (an open transaction would hold SQLite's lock).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import TypeVar

import httpx
import pytest
from fastapi import FastAPI
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from api.session_tokens import Role
from api.web.admin.member_page import LEDGER_LINES
from core import members, pins
from core.audit import Actor
from core.members import MemberDetail, NewMember
from core.paging import PAGE_DEFAULT
from tests.api.conftest import Headers, SessionFor
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import T0, TESTER, make_member, unique_slug, unique_uid
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched

T = TypeVar("T")
PIN = "80412593"
FAST_BCRYPT = 4  # rounds, where a test sets a PIN itself
NOT_A_PIN = "98765x"


@dataclass(frozen=True)
class Members:
    grace: NewMember
    grace_card: str
    other: NewMember
    other_card: str
    other_login: str


@pytest.fixture
async def accounts(committed_db: AsyncSession) -> Members:
    """Grace with 10 € and a card; another member with a card and a login of their own."""
    grace_card, other_card = unique_uid(), unique_uid()
    grace = await make_member(
        committed_db, name=f"Grace {unique_slug('hopper')}", balance_cents=1000, card=grace_card
    )
    other = await make_member(committed_db, name=f"Other {unique_slug('member')}", card=other_card)
    other_login = unique_slug("other-login")
    await members.link_login(committed_db, other.member_id, other_login, actor=TESTER, now=T0)
    await committed_db.commit()
    return Members(grace, grace_card, other, other_card, other_login)


@dataclass(frozen=True)
class AdminBrowser:
    """Ada, an admin, in Chromium: each run starts logged in, on the members list."""

    live_app: LiveApp
    chromium: Chromium
    subject: str

    async def run(self, steps: Callable[[Page], T], *, language: str = "en") -> T:
        def logged_in(page: Page) -> T:
            log_in(page, self.live_app.url, self.subject, "/admin/members")
            return steps(page)

        return await self.chromium.run(logged_in, locale=LANGUAGE_LOCALES[language])


@pytest.fixture
def ada(live_app: LiveApp, chromium: Chromium, person: Person) -> AdminBrowser:
    return AdminBrowser(live_app, chromium, person("Ada Lovelace", "admin"))


async def _detail(db: AsyncSession, member_id: int) -> MemberDetail:
    detail = await members.detail(db, member_id, now=T0)
    await db.commit()
    return detail


def submit(page: Page, button: str) -> int:
    """Click the form's button and wait for the answer: its status (303 when it was saved)."""
    with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return posted.value.status


def error_beside(page: Page, field: str) -> str:
    """The error the page shows beside a field (and names in the field's description)."""
    described = page.locator(f"[name={field}]").get_attribute("aria-describedby")
    return text(page, f"#{described}") if described else ""


def text(page: Page, selector: str) -> str:
    """What the element says, with the spaces money is written with as plain ones."""
    return page.locator(selector).inner_text().replace("\u00a0", " ")


async def test_ada_finds_a_member_and_changes_their_account_in_english(
    ada: AdminBrowser, committed_db: AsyncSession, accounts: Members
) -> None:
    grace = accounts.grace
    grace_login = unique_slug("grace-login")

    def manage(page: Page) -> dict[str, object]:
        seen: dict[str, object] = {}
        watch = watched(page)
        search = page.get_by_label("Name, e-mail address or card")
        search.fill(grace.name.split()[1])
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state()
        seen["by name"] = page.get_by_role("table").get_by_role("link").all_inner_texts()
        search = page.get_by_label("Name, e-mail address or card")
        search.fill(accounts.grace_card[-6:].lower())
        page.get_by_role("button", name="Search").click()
        page.wait_for_load_state()
        seen["by card"] = page.get_by_role("table").get_by_role("link").all_inner_texts()
        seen["list problems"] = page_problems(page, watch, "admin-members-en")

        page.get_by_role("link", name=grace.name).click()
        page.wait_for_load_state()
        seen["heading"] = page.get_by_role("heading", level=1).inner_text()
        seen["balance"] = text(page, "#balance")
        seen["detail problems"] = page_problems(page, watch, "admin-member-en")

        page.get_by_label("Amount in euros").fill("-2.50")
        seen["no reason"] = submit(page, "Correct the balance"), error_beside(page, "reason")
        page.get_by_label("Amount in euros").fill("-100")
        page.get_by_label("Reason").fill("Too much")
        seen["below the limit"] = (
            submit(page, "Correct the balance"),
            error_beside(page, "amount_cents"),
        )
        seen["balance then"] = text(page, "#balance")
        seen["refused problems"] = page_problems(page, watch, "admin-member-refused-en")
        page.get_by_label("Amount in euros").fill("-2.50")
        page.get_by_label("Reason").fill("Broken mug")
        seen["corrected"] = submit(page, "Correct the balance"), text(page, ".notice")
        seen["balance after"] = text(page, "#balance")
        seen["ledger"] = page.get_by_role("table", name="Recent ledger").inner_text()

        page.get_by_label("Credit limit in euros").fill("twenty")
        seen["bad limit"] = (
            submit(page, "Save the credit limit"),
            error_beside(page, "credit_limit_cents"),
        )
        page.get_by_label("Credit limit in euros").fill("20.00")
        seen["limit"] = submit(page, "Save the credit limit"), text(page, ".notice")

        page.get_by_label("Card UID").fill(accounts.other_card)
        seen["taken card"] = submit(page, "Add card"), error_beside(page, "uid")
        seen["owner link"] = page.get_by_role(
            "link", name="Open the member who has this card"
        ).get_attribute("href")
        page.get_by_role("button", name=f"Block card {accounts.grace_card}").click()
        page.wait_for_load_state()
        seen["blocked"] = page.get_by_role("row").filter(has_text=accounts.grace_card).inner_text()
        page.get_by_role("button", name=f"Unblock card {accounts.grace_card}").click()
        page.wait_for_load_state()
        seen["unblocked"] = (
            page.get_by_role("row").filter(has_text=accounts.grace_card).inner_text()
        )

        page.get_by_label("New PIN").fill(NOT_A_PIN)
        seen["bad pin"] = submit(page, "Set the PIN"), error_beside(page, "pin")
        seen["bad pin in page"] = NOT_A_PIN in page.content()
        page.get_by_label("New PIN").fill(PIN)
        seen["pin"] = submit(page, "Set the PIN"), text(page, ".notice")
        seen["pin in page"] = PIN in page.content()
        seen["pin field"] = page.get_by_label("New PIN").evaluate(
            "field => [field.type, field.inputMode, field.autocomplete, field.value]"
        )
        seen["pin removed"] = submit(page, "Remove the PIN"), text(page, "#h-pin + p")

        page.get_by_label("Login (its OIDC subject)").fill(accounts.other_login)
        seen["taken login"] = submit(page, "Link the login"), error_beside(page, "subject")
        page.get_by_label("Login (its OIDC subject)").fill(grace_login)
        seen["linked"] = submit(page, "Link the login"), text(page, "#h-login + p")
        seen["last problems"] = page_problems(page, watch, "admin-member-changed-en")
        return seen

    seen = await ada.run(manage)

    assert seen["by name"] == seen["by card"] == [grace.name]
    assert seen["heading"] == grace.name
    assert seen["balance"] == "€10.00"
    assert seen["no reason"] == (422, "Please fill this in.")
    assert seen["below the limit"] == (
        409,
        "This would take the balance below the credit limit: the balance is €10.00, "
        "the credit limit €0.00.",
    )
    assert seen["balance then"] == "€10.00"
    assert seen["corrected"] == (
        303,
        "Balance corrected by -€2.50. The new balance is €7.50.",
    )
    assert seen["balance after"] == "€7.50"
    assert "Broken mug" in str(seen["ledger"])
    assert seen["bad limit"] == (422, "Please enter an amount like 12.50.")
    assert seen["limit"] == (303, "Credit limit set to €20.00.")
    assert seen["taken card"] == (409, "This card belongs to a member already.")
    assert seen["owner link"] == f"/admin/members/{accounts.other.member_id}"
    assert "Blocked" in str(seen["blocked"])
    assert "Works" in str(seen["unblocked"])
    assert seen["bad pin"] == (422, "A PIN is 4 to 8 digits.")
    assert seen["pin"] == (303, "PIN set: the member is a treasurer now.")
    assert seen["bad pin in page"] is seen["pin in page"] is False
    assert seen["pin field"] == ["password", "numeric", "off", ""]
    assert seen["pin removed"] == (303, "No PIN: the member is not a treasurer.")
    assert seen["taken login"] == (
        409,
        "This login is linked to another member: unlink it there first.",
    )
    assert seen["linked"] == (303, f"Linked to the login {grace_login}")
    for problems in ("list problems", "detail problems", "refused problems", "last problems"):
        assert seen[problems] == [], problems

    after = await _detail(committed_db, grace.member_id)
    assert (after.balance_cents, after.credit_limit_cents) == (750, 2000)
    assert [(card.uid, card.blocked) for card in after.cards] == [(accounts.grace_card, False)]
    assert (after.has_pin, after.oidc_subject) == (False, grace_login)
    other = await _detail(committed_db, accounts.other.member_id)
    assert [card.uid for card in other.cards] == [accounts.other_card]
    assert other.oidc_subject == accounts.other_login


async def test_ada_adds_a_member_and_changes_it_in_german(
    ada: AdminBrowser, committed_db: AsyncSession, accounts: Members
) -> None:
    name = f"Lin {unique_slug('neu')}"
    taken = accounts.other_card
    renamed, login = f"Lin {unique_slug('umbenannt')}", unique_slug("lin-login")

    def add_and_limit(page: Page) -> dict[str, object]:
        seen: dict[str, object] = {}
        watch = watched(page)
        seen["lang"] = page.get_attribute("html", "lang")
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Karten-UID (optional)").fill(taken)
        seen["taken card"] = submit(page, "Mitglied anlegen"), error_beside(page, "card_uid")
        seen["name kept"] = page.get_by_label("Name", exact=True).input_value()
        seen["list problems"] = page_problems(page, watch, "admin-members-refused-de")
        page.get_by_label("Karten-UID (optional)").fill("")
        page.get_by_label("Startguthaben in Euro (optional)").fill("5,00")
        seen["added"] = submit(page, "Mitglied anlegen"), text(page, ".notice")
        seen["balance"] = text(page, "#balance")
        seen["detail problems"] = page_problems(page, watch, "admin-member-de")

        page.get_by_label("Kreditrahmen in Euro").fill("-3")
        seen["bad limit"] = (
            submit(page, "Kreditrahmen speichern"),
            error_beside(page, "credit_limit_cents"),
        )
        seen["refused problems"] = page_problems(page, watch, "admin-member-refused-de")
        page.get_by_label("Kreditrahmen in Euro").fill("20,00")
        seen["limit"] = submit(page, "Kreditrahmen speichern"), text(page, ".notice")

        page.get_by_label("Name", exact=True).fill(renamed)
        page.get_by_label("E-Mail-Adresse (optional)").fill("lin@example.org")
        seen["contact"] = submit(page, "Name und E-Mail-Adresse speichern"), text(page, "h1")
        page.get_by_label("Anmeldung (ihr OIDC-Subject)").fill(login)
        seen["linked"] = submit(page, "Anmeldung verknüpfen"), text(page, "#h-login + p")
        seen["unlinked"] = submit(page, "Anmeldung lösen"), text(page, "#h-login + p")
        seen["url"] = page.url
        return seen

    seen = await ada.run(add_and_limit, language="de")

    assert seen["lang"] == "de"
    assert seen["taken card"] == (409, "Diese Karte gehört schon einem Mitglied.")
    assert seen["name kept"] == name
    assert seen["added"] == (303, f"Mitglied {name} angelegt.")
    assert seen["balance"] == "5,00 €"
    assert seen["bad limit"] == (422, "Mindestens 0,00 €.")
    assert seen["limit"] == (303, "Kreditrahmen auf 20,00 € gesetzt.")
    assert seen["contact"] == (303, renamed)
    assert seen["linked"] == (303, f"Verknüpft mit der Anmeldung {login}")
    assert seen["unlinked"] == (
        303,
        "Keine Anmeldung verknüpft: Das Mitglied sieht sein Konto noch nicht online.",
    )
    for problems in ("list problems", "detail problems", "refused problems"):
        assert seen[problems] == [], problems
    member_id = int(str(seen["url"]).rsplit("/", 1)[1])
    added = await _detail(committed_db, member_id)
    assert (added.name, added.email, added.oidc_subject) == (renamed, "lin@example.org", None)
    assert (added.balance_cents, added.credit_limit_cents, added.cards) == (500, 2000, [])


def _pages_of(member_id: int, card_id: int) -> list[tuple[str, str]]:
    one = f"/admin/members/{member_id}"
    posted = ["contact", "credit-limit", "corrections", "cards", "pin", "pin/remove", "login"]
    return [
        ("GET", "/admin/members"),
        ("POST", "/admin/members"),
        ("GET", one),
        *[("POST", f"{one}/{form}") for form in posted],
        ("POST", f"{one}/cards/{card_id}/block"),
        ("POST", f"{one}/cards/{card_id}/unblock"),
        ("POST", f"{one}/login/remove"),
    ]


async def test_the_member_pages_refuse_everyone_but_admins_with_a_page(
    client: httpx.AsyncClient,
    session_for: SessionFor,
    committed_db: AsyncSession,
    accounts: Members,
) -> None:
    before = await _detail(committed_db, accounts.other.member_id)
    shop = session_for(unique_slug("shop"), Role.PRODUCT_MANAGER) | {"Accept": "text/html"}
    form = {"name": "Mallory", "credit_limit_cents": "999", "pin": PIN, "uid": unique_uid()}

    answers = {
        (method, path): await client.request(method, path, headers=shop, data=form)
        for method, path in _pages_of(accounts.other.member_id, before.cards[0].id)
    }

    refused = {page: answer.status_code for page, answer in answers.items()}
    assert set(refused.values()) == {403}, refused
    assert all("text/html" in answer.headers["content-type"] for answer in answers.values())
    assert await _detail(committed_db, accounts.other.member_id) == before


async def test_an_address_of_no_member_or_card_is_the_not_found_page(
    client: httpx.AsyncClient, admin: Headers, accounts: Members
) -> None:
    one = f"/admin/members/{accounts.grace.member_id}"
    addresses = [
        ("GET", "/admin/members/999999999999"),
        ("GET", "/admin/members/twelve"),
        ("GET", "/admin/members/²"),
        ("GET", f"/admin/members/{2**63}"),
        ("POST", "/admin/members/999999999999/pin/remove"),
        ("POST", f"{one}/cards/999999999999/block"),
        ("POST", f"{one}/cards/{2**64}/unblock"),
    ]
    html = admin | {"Accept": "text/html"}

    answers = {address: await client.request(*address, headers=html) for address in addresses}

    assert {address: answer.status_code for address, answer in answers.items()} == dict.fromkeys(
        addresses, 404
    )
    assert all("Page not found" in answer.text for answer in answers.values())


async def test_a_search_too_long_is_refused_beside_the_field(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    html = admin | {"Accept": "text/html"}

    answer = await client.get("/admin/members", params={"q": "x" * 201}, headers=html)

    assert answer.status_code == 422
    assert 'id="e-q" class="error">At most 200 characters.' in answer.text


async def test_long_lists_go_on_on_older_pages(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession, accounts: Members
) -> None:
    namesake = unique_slug("namesake")
    for number in range(PAGE_DEFAULT + 1):
        await members.add_member(committed_db, name=f"{namesake} {number}", now=T0, actor=TESTER)
    for number in range(LEDGER_LINES):
        await members.correct_balance(
            committed_db,
            accounts.grace.member_id,
            1,
            reason=f"Fix {number}",
            now=T0,
            actor=Actor.person("ada"),
        )
    await committed_db.commit()
    html = admin | {"Accept": "text/html"}

    first = await client.get("/admin/members", params={"q": namesake}, headers=html)
    older = await client.get(_older_link(first.text), headers=html)
    ledger = await client.get(f"/admin/members/{accounts.grace.member_id}", headers=html)
    older_ledger = await client.get(_older_link(ledger.text), headers=html)

    listed = f'">{namesake} '
    assert (first.text.count(listed), older.text.count(listed)) == (PAGE_DEFAULT, 1)
    assert f"{listed}0<" in older.text
    fix = "<small>Fix "
    assert (ledger.text.count(fix), older_ledger.text.count(fix)) == (LEDGER_LINES, 0)
    assert "Opening balance" in older_ledger.text
    assert 'aria-label="Pages"' not in older.text + older_ledger.text


def _older_link(html: str) -> str:
    found = re.search(r'<nav aria-label="Pages"><a href="([^"]+)"', html)
    assert found is not None, "no link to older entries"
    return unescape(found[1])


async def test_wrong_pins_show_on_the_member_page_and_a_lock_with_its_end(
    client: httpx.AsyncClient,
    app: FastAPI,
    admin: Headers,
    committed_db: AsyncSession,
    accounts: Members,
) -> None:
    member_id = accounts.grace.member_id
    page = f"/admin/members/{member_id}"
    html = admin | {"Accept": "text/html"}
    now = app.state.clock.now()
    await pins.set_pin(committed_db, member_id, PIN, rounds=FAST_BCRYPT, actor=TESTER, now=T0)
    await pins.verify(committed_db, member_id, "0000", now=now)
    await committed_db.commit()

    one_wrong = await client.get(page, headers=html)
    for _ in range(pins.MAX_FAILURES - 1):
        await pins.verify(committed_db, member_id, "0000", now=now)
    await committed_db.commit()
    locked = await client.get(page, headers=html)

    assert "Wrong tries in a row: 1." in one_wrong.text
    assert "A PIN is set, locked after 3 wrong tries until " in locked.text
