"""A member's own pages in Chromium: Grace logs in and lands on her account, every page of
hers passes the page checks in English and German, the ledger filters and pages, and she
blocks a lost card through a confirmation page; another member's card is not there for her."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page
from sqlalchemy.ext.asyncio import AsyncSession

from core import members, rentals, sessions
from core.billing import TariffOverride
from core.clock import SystemClock
from core.devices import DeviceRef
from core.formats import DeviceKind
from tests.api.conftest import LinkedMember
from tests.api.web.conftest import Person, log_in
from tests.chromium import Chromium
from tests.factories import TESTER, grant, make_device, make_machine, make_member, unique_uid
from tests.live_server import LiveApp
from tests.page_checks import LANGUAGE_LOCALES, page_problems, watched

HEARTBEAT = timedelta(seconds=30)
MEMBER_PAGES = ["/me", "/me/ledger", "/me/sessions", "/me/rentals", "/me/machines", "/me/cards"]


@dataclass(frozen=True)
class Grace:
    subject: str
    member_id: int
    card_ids: list[int]
    others_card_id: int


@pytest.fixture
async def grace(committed_db: AsyncSession, person: Person) -> Grace:
    """A member with a login, two cards, a finished and a running session, an item out and
    one brought back, a correction (seven ledger lines, ending at a balance of 12.50) and
    three machines, one of them at her own price per minute."""
    now = SystemClock().now()
    member = await make_member(committed_db, name="Grace Hopper", balance_cents=2000)
    assert member.card_uid is not None
    subject = person("Grace Hopper")
    await members.link_login(
        committed_db, member.member_id, subject, actor=TESTER, now=SystemClock().now()
    )
    await members.add_card(committed_db, member.member_id, unique_uid(), now=now, actor=TESTER)
    laser, lathe = await make_machine(committed_db), await make_machine(committed_db)
    for machine in (laser, lathe):
        await grant(committed_db, machine, member)
    welder = await make_machine(committed_db)
    await grant(committed_db, welder, member, TariffOverride(price_per_minute_cents=5))
    card = member.card_uid

    async def start(machine: DeviceRef, ago: timedelta) -> int:
        running = await sessions.start(
            committed_db,
            device_id=machine.id,
            card_uid=card,
            now=now - ago,
            heartbeat_period=HEARTBEAT,
            request_id=None,
        )
        return running.session_id

    finished = await start(laser, timedelta(hours=1))
    await sessions.end(  # after 90 s: the login fee and two minutes at 0.20, the rest back
        committed_db,
        device_id=laser.id,
        session_id=finished,
        now=now - timedelta(hours=1) + timedelta(seconds=90),
        request_id=None,
    )
    await start(lathe, timedelta(minutes=10))
    station = await make_device(committed_db, kind=DeviceKind.RENTAL)
    await rentals.permit(committed_db, member.member_id, actor=TESTER, now=now)
    saw, drill = [
        await rentals.add_item(
            committed_db, tid=unique_uid(), name=name, description=None, now=now, actor=TESTER
        )
        for name in ("Jigsaw", "Cordless drill")
    ]
    two_hours_ago = now - timedelta(hours=2)
    await rentals.rent(
        committed_db, device_id=station.id, card_uid=card, tid=saw.tid, now=two_hours_ago
    )
    await rentals.return_item(committed_db, device_id=station.id, tid=saw.tid, now=now)
    await rentals.rent(committed_db, device_id=station.id, card_uid=card, tid=drill.tid, now=now)
    await members.correct_balance(
        committed_db, member.member_id, -210, reason="Broken drill bit", now=now, actor=TESTER
    )
    bob = await make_member(committed_db, name="Bob Other")
    cards = [card.id for card in await members.cards(committed_db, member.member_id)]
    bobs = await members.cards(committed_db, bob.member_id)
    await committed_db.commit()
    return Grace(subject, member.member_id, cards, bobs[0].id)


def follow(page: Page, link: Locator) -> None:
    """Click a link or a submit button and wait until the page it leads to has loaded (not
    just the page it was on)."""
    with page.expect_navigation():
        link.click()


def _text(page: Page, selector: str) -> str:
    return page.inner_text(selector).replace("\xa0", " ")


async def test_grace_lands_on_her_balance_and_her_pages_pass_the_checks_in_both_languages(
    live_app: LiveApp, chromium: Chromium, grace: Grace
) -> None:
    pages = [*MEMBER_PAGES, f"/me/cards/{grace.card_ids[0]}/block"]
    for language, locale in LANGUAGE_LOCALES.items():

        def visit(page: Page, language: str = language) -> dict[str, Any]:
            log_in(page, live_app.url, grace.subject, "/")
            seen: dict[str, Any] = {"landed": page.url, "balance": _text(page, "#balance")}
            problems: list[str] = []
            for path in pages:
                watch = watched(page)
                page.goto(live_app.url + path)
                seen[path] = _text(page, "main")
                found = page_problems(page, watch, f"member{path}-{language}")
                problems += [f"{path}: {problem}" for problem in found]
            return seen | {"problems": problems}

        seen = await chromium.run(visit, locale=locale)

        money = {"en": ["€12.50", "€4.00", "€1.40"], "de": ["12,50 €", "4,00 €", "1,40 €"]}
        balance, charged_so_far, charged_in_the_end = money[language]
        own_prices = {"en": "Your own prices", "de": "Deine eigenen Preise"}[language]
        assert seen["landed"] == live_app.url + "/me"
        assert seen["balance"] == balance
        assert "Cordless drill" in seen["/me"]
        assert "Cordless drill" in seen["/me/rentals"]
        assert "Jigsaw" in seen["/me/rentals"]
        assert "Jigsaw" not in seen["/me"]  # not out any more
        assert charged_so_far in seen["/me/sessions"]
        assert charged_in_the_end in seen["/me/sessions"]
        assert seen["/me/machines"].count(own_prices) == 1
        assert seen["problems"] == []


async def test_the_ledger_shows_one_kind_when_filtered_and_older_lines_on_the_next_page(
    live_app: LiveApp, chromium: Chromium, grace: Grace
) -> None:
    def filter_and_page(page: Page) -> dict[str, Any]:
        log_in(page, live_app.url, grace.subject, "/me/ledger")
        page.select_option("#f-kind", label="Login fee")
        follow(page, page.get_by_role("button", name="Filter"))
        filtered = {
            column: page.locator(f"main tbody td:nth-child({n})").all_inner_texts()
            for column, n in (("what", 1), ("amount", 2), ("after", 3))
        }
        filtered["what"] = [cell.splitlines()[0] for cell in filtered["what"]]  # then "when"
        page.goto(live_app.url + "/me/ledger?limit=4")
        first = page.locator("main tbody tr").all_inner_texts()
        follow(page, page.get_by_role("button", name="Older"))
        return {
            "filtered": filtered,
            "first": first,
            "older": page.locator("main tbody tr").all_inner_texts(),
            "older link": page.get_by_role("button", name="Older").all_inner_texts(),
        }

    seen = await chromium.run(filter_and_page)

    assert seen["filtered"] == {  # the lathe's (running) and the laser's
        "what": ["Login fee", "Login fee"],
        "amount": ["-€1.00", "-€1.00"],
        "after": ["€17.60", "€19.00"],
    }
    assert ["Correction" in row for row in seen["first"]] == [True, False, False, False]
    assert ["Opening balance" in row for row in seen["older"]] == [False, False, True]
    assert seen["older link"] == []


async def test_grace_blocks_a_lost_card_after_confirming_and_another_members_card_is_not_found(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, grace: Grace
) -> None:
    lost = grace.card_ids[1]

    def block_the_lost_card(page: Page) -> dict[str, Any]:
        log_in(page, live_app.url, grace.subject, "/me/cards")
        follow(page, page.locator(f"a[href='/me/cards/{lost}/block']"))
        question = _text(page, "main")
        follow(page, page.get_by_role("button", name="Block this card"))
        after = {
            "question": question,
            "landed": page.url,
            "notice": _text(page, ".notice"),
            "cards": page.locator("main article.card").all_inner_texts(),
        }
        watch = watched(page)
        answer = page.goto(f"{live_app.url}/me/cards/{grace.others_card_id}/block")
        assert answer is not None
        return after | {
            "other status": answer.status,
            "other heading": page.get_by_role("heading", level=1).inner_text(),
            "problems": page_problems(page, watch, "member-others-card-en"),
        }

    seen = await chromium.run(block_the_lost_card)

    assert "only an admin can unblock it" in str(seen["question"])
    assert seen["landed"] == live_app.url + "/me/cards"
    assert "is blocked" in str(seen["notice"])
    assert [("Works" in card, "Blocked" in card) for card in seen["cards"]] == [
        (True, False),
        (False, True),
    ]
    assert [card.blocked for card in await members.cards(committed_db, grace.member_id)] == [
        False,
        True,
    ]
    assert (seen["other status"], seen["other heading"]) == (404, "Page not found")
    assert seen["problems"] == []
    assert [card.blocked for card in await members.cards(committed_db, grace.member_id)] == [
        False,
        True,
    ]


async def test_the_block_form_blocks_her_own_card_and_another_members_card_is_the_404_page(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    grace_id, grace = await linked_member(name="Grace Hopper")
    bob_id, _ = await linked_member(name="Bob Other")
    graces_card = (await members.cards(committed_db, grace_id))[0]
    bobs_card = (await members.cards(committed_db, bob_id))[0]
    await committed_db.commit()
    as_a_page = grace | {"Accept": "text/html"}

    others = await client.post(f"/me/cards/{bobs_card.id}/block", headers=as_a_page)
    own = await client.post(f"/me/cards/{graces_card.id}/block", headers=as_a_page)

    assert others.status_code == 404
    assert "Page not found" in others.text
    assert [card.blocked for card in await members.cards(committed_db, bob_id)] == [False]
    assert (own.status_code, own.headers["location"]) == (303, "/me/cards")
    assert [card.blocked for card in await members.cards(committed_db, grace_id)] == [True]
