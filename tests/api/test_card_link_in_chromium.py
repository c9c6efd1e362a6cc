"""The card link in a real browser (headless Chromium): a phone logs in through the provider
and confirms; a form another site makes the browser send links nothing. What the browser
sends (Origin, Sec-Fetch-Site) is its own doing here, not headers a test set by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from core.members import NewMember
from makerbus.login_provider import LocalLoginProvider
from tests.api.cards import card_with_token, subject_of
from tests.api.foreign_site import ForeignSite
from tests.chromium import PHONE, Chromium, accessibility_problems, open_after_login
from tests.factories import unique_slug
from tests.live_server import LiveApp
from tests.page_checks import page_problems, watched


@pytest.fixture(scope="module")
def foreign_site() -> Iterator[ForeignSite]:
    site = ForeignSite()
    site.start()
    yield site
    site.stop()


@dataclass(frozen=True)
class WaitingCard:
    member: NewMember
    link_url: str  # what the terminal's QR code says


@pytest.fixture
async def card(live_app: LiveApp, committed_db: AsyncSession) -> WaitingCard:
    """An unlinked card for which a terminal has just shown a link."""
    member, token = await card_with_token(committed_db, live_app.app)
    return WaitingCard(member, f"{live_app.url}/link/{token}")


@pytest.fixture
def ada(login_provider: LocalLoginProvider) -> str:
    """A login the provider knows as Ada Lovelace (its subject)."""
    subject = unique_slug("ada")
    login_provider.set_user(subject, {"name": "Ada Lovelace"})
    return subject


async def test_a_phone_logs_in_and_links_its_card(
    live_app: LiveApp, chromium: Chromium, committed_db: AsyncSession, card: WaitingCard, ada: str
) -> None:
    def link_the_card(page: Page) -> dict[str, object]:
        open_after_login(page, card.link_url, ada)
        watch = watched(page)  # the provider's own page is not ours to check
        asked = {
            "question": page.inner_text("main"),
            "page problems": page_problems(page, watch, "card-link-confirm-en"),
            "problems": accessibility_problems(page),
        }
        with page.expect_response(lambda answer: answer.request.method == "POST") as posted:
            page.click("button[type=submit]")
        page.wait_for_load_state()
        return {
            **asked,
            "status": posted.value.status,
            "origin": posted.value.request.header_value("origin"),
            "page": page.inner_text("body"),
            "page problems then": page_problems(page, watch, "card-link-linked-en"),
            "problems then": accessibility_problems(page),
        }

    seen = await chromium.run(link_the_card, viewport=PHONE)

    assert "Ada Lovelace" in str(seen["question"])
    assert seen["page problems"] == seen["page problems then"] == []
    assert seen["problems"] == seen["problems then"] == []
    assert (seen["status"], seen["origin"]) == (200, live_app.url)
    assert "Card linked" in str(seen["page"])
    assert await subject_of(committed_db, card.member) == ada


@pytest.mark.parametrize(
    ("host", "referrer", "status"),
    [
        ("127.0.0.1", "", 403),  # same site, other origin: the Lax cookie goes along
        ("127.0.0.1", "no-referrer", 403),  # the same, with Origin: null
        ("localhost", "", 401),  # another site: the browser keeps the Lax cookie back
    ],
    ids=["other-origin", "opaque-origin", "other-site"],
)
async def test_a_form_another_site_submits_links_nothing(
    chromium: Chromium,
    committed_db: AsyncSession,
    foreign_site: ForeignSite,
    card: WaitingCard,
    ada: str,
    host: str,
    referrer: str,
    status: int,
) -> None:
    def visit_the_other_site(page: Page) -> tuple[int, str | None]:
        open_after_login(page, card.link_url, ada)  # logged in, as a victim may well be
        with page.expect_response(lambda answer: answer.request.method == "POST") as forged:
            page.goto(foreign_site.page(host, card.link_url, referrer=referrer))
        return forged.value.status, forged.value.request.header_value("origin")

    sent_from = "null" if referrer else f"http://{host}:{foreign_site.port}"
    assert await chromium.run(visit_the_other_site) == (status, sent_from)
    assert await subject_of(committed_db, card.member) is None
