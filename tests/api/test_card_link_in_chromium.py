"""The card link in a real browser (headless Chromium): a phone logs in through the provider
and confirms; a form another site makes the browser send links nothing. What the browser
sends (Origin, Sec-Fetch-Site) is its own doing here, not headers a test set by hand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from sqlalchemy.ext.asyncio import AsyncSession

from makerbus.login_provider import LocalLoginProvider
from tests.api.cards import card_with_token, subject_of
from tests.api.conftest import LiveApp
from tests.api.foreign_site import ForeignSite
from tests.chromium import PHONE, Chromium, accessibility_problems, fits_the_width, open_after_login
from tests.factories import unique_slug


@pytest.fixture(scope="module")
def foreign_site() -> Iterator[ForeignSite]:
    site = ForeignSite()
    site.start()
    yield site
    site.stop()


async def test_a_phone_logs_in_and_links_its_card(
    live_app: LiveApp,
    chromium: Chromium,
    committed_db: AsyncSession,
    login_provider: LocalLoginProvider,
) -> None:
    member, token = await card_with_token(committed_db, live_app.app)
    subject = unique_slug("phone")
    login_provider.set_user(subject, {"name": "Ada Lovelace"})
    link_url = f"{live_app.url}/link/{token}"

    def link_the_card(page: Page) -> dict[str, object]:
        open_after_login(page, link_url, subject)
        asked = {
            "question": page.inner_text("main"),
            "fits": fits_the_width(page),
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
            "problems then": accessibility_problems(page),
        }

    seen = await chromium.run(link_the_card, viewport=PHONE)

    assert "Ada Lovelace" in str(seen["question"])
    assert seen["fits"] is True
    assert seen["problems"] == seen["problems then"] == []
    assert (seen["status"], seen["origin"]) == (200, live_app.url)
    assert "Card linked" in str(seen["page"])
    assert await subject_of(committed_db, member) == subject


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
    live_app: LiveApp,
    chromium: Chromium,
    committed_db: AsyncSession,
    login_provider: LocalLoginProvider,
    foreign_site: ForeignSite,
    host: str,
    referrer: str,
    status: int,
) -> None:
    member, token = await card_with_token(committed_db, live_app.app)
    victim = unique_slug("victim")
    login_provider.set_user(victim, {"name": "Victim"})
    link_url = f"{live_app.url}/link/{token}"

    def visit_the_other_site(page: Page) -> int:
        open_after_login(page, link_url, victim)  # logged in, as a victim may well be
        with page.expect_response(lambda answer: answer.request.method == "POST") as forged:
            page.goto(foreign_site.page(host, link_url, referrer=referrer))
        return forged.value.status

    assert await chromium.run(visit_the_other_site) == status
    assert await subject_of(committed_db, member) is None
