"""A member's pages beside real devices: what a checkout terminal books over MQTT shows on
her pages at the next reload, and a card she blocks on a page is refused by the terminal at
once. The stack's handler service answers the device; the web app shares its database."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.sync_api import Page

from core import members
from core.clock import SystemClock
from core.members import NewMember
from makerbus.context import database
from makerbus.login_provider import LocalLoginProvider
from tests.api.web.conftest import log_in
from tests.api.web.test_member_pages import follow
from tests.chromium import Chromium
from tests.e2e.stack import Stack
from tests.e2e.test_checkout import add_product, checkout_device
from tests.factories import TESTER, unique_slug
from tests.live_server import LiveApp
from tests.page_checks import page_problems, watched

# Pages on SQLite only, as in tests/api/web (its conftest says why).
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def _member_with_login(stack: Stack, subject: str) -> NewMember:
    """Grace with 15.00 on her card, her login linked to her account."""
    grace = await asyncio.to_thread(stack.add_member, name="Grace Hopper", balance_cents=1500)
    async with database(stack.settings) as db:
        await members.link_login(
            db, grace.member_id, subject, actor=TESTER, now=SystemClock().now()
        )
    return grace


async def test_a_purchase_at_the_terminal_shows_on_her_pages_and_a_card_she_blocks_is_refused(
    stack: Stack, stack_app: LiveApp, chromium: Chromium, login_provider: LocalLoginProvider
) -> None:
    subject = unique_slug("grace")
    login_provider.set_user(subject, {"name": "Grace Hopper"})
    grace = await _member_with_login(stack, subject)
    mate = await asyncio.to_thread(add_product, stack, price_cents=250, stock=5, name="Mate")
    terminal = await asyncio.to_thread(checkout_device, stack)

    def buy(card: str) -> Any:
        return terminal.request("checkout/purchase", card=card, items=[{"ean": mate.ean, "qty": 1}])

    def journey(page: Page) -> dict[str, Any]:
        # The terminal answers over MQTT from the handler service: no need of this test's
        # event loop, which meanwhile serves the pages.
        log_in(page, stack_app.url, subject, "/me")
        before = page.inner_text("#balance")
        bought = buy(grace.card_uid or "")
        page.reload()
        after = page.inner_text("#balance")
        page.goto(stack_app.url + "/me/ledger")
        newest = page.locator("main tbody tr").first.locator("td").all_inner_texts()
        page.goto(stack_app.url + "/me/cards")
        follow(page, page.get_by_role("button", name="Block", exact=True))
        follow(page, page.get_by_role("button", name="Block this card"))
        watch = watched(page)
        page.reload()
        return {
            "before": before,
            "bought": bought,
            "after": after,
            "newest": newest,
            "cards": page.inner_text("main"),
            "problems": page_problems(page, watch, "member-cards-after-blocking-en"),
            "refused": buy(grace.card_uid or ""),
        }

    seen = await chromium.run(journey)

    assert seen["before"] == "€15.00"
    assert (seen["bought"].raw["ok"], seen["bought"].raw["balance_cents"]) == (True, 1250)
    assert seen["after"] == "€12.50"
    what, *booked, concerns = seen["newest"]
    assert what.startswith("Purchase")
    assert booked == ["-€2.50", "€12.50"]
    assert concerns.startswith("Mate")
    assert "Blocked" in seen["cards"]
    assert seen["problems"] == []
    assert seen["refused"].error == "card_blocked"
    assert await asyncio.to_thread(stack.balance, grace) == 1250
