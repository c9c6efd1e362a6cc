"""The card-link pages: a terminal's QR code, a login through the provider, one confirmed POST."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core import api_tokens
from core.models import Card, Member
from tests.api.browser import Browser
from tests.api.cards import card_with_token, subject_of
from tests.api.conftest import ORIGIN, SESSION_COOKIE, LinkedMember, SessionFor
from tests.factories import TESTER, unique_slug

JSON = {"Accept": "application/json"}


async def test_the_card_link_flow_links_a_card_end_to_end_and_a_reused_token_is_refused(
    browser: Browser, client: httpx.AsyncClient, committed_db: AsyncSession, app: FastAPI
) -> None:
    member, token = await card_with_token(committed_db, app)
    subject = unique_slug("phone")

    to_login = await client.get(f"/link/{token}")
    landed = await browser.login(subject, start=to_login.headers["location"])
    page = await browser.follow(landed)
    before = await client.get("/api/v1/me")
    linked = await client.post(f"/link/{token}", headers={"Origin": ORIGIN})
    me = await client.get("/api/v1/me")
    reused = await client.post(f"/link/{token}", headers={"Origin": ORIGIN, **JSON})

    assert to_login.status_code == 302
    assert to_login.headers["location"] == f"/auth/login?next=%2Flink%2F{token}"
    assert landed.headers["location"] == f"/link/{token}"
    assert page.status_code == 200
    assert f'<form method="post" action="/link/{token}">' in page.text
    assert before.status_code == 403  # showing the page linked nothing
    assert linked.status_code == 200
    assert "Card linked" in linked.text
    assert 'href="/"' in linked.text
    assert me.status_code == 200
    assert me.json()["id"] == member.member_id
    assert reused.status_code == 410
    assert reused.json()["error"] == "link_token_used"
    assert await subject_of(committed_db, member) == subject


async def test_a_second_login_cannot_redeem_a_used_token(
    client: httpx.AsyncClient, committed_db: AsyncSession, app: FastAPI, session_for: SessionFor
) -> None:
    member, token = await card_with_token(committed_db, app)
    first, second = unique_slug("first"), unique_slug("second")
    await client.post(f"/link/{token}", headers=session_for(first))

    refused = await client.post(f"/link/{token}", headers={**session_for(second), **JSON})
    its_me = await client.get("/api/v1/me", headers=session_for(second))

    assert refused.status_code == 410
    assert refused.json()["error"] == "link_token_used"
    assert its_me.status_code == 403
    assert await subject_of(committed_db, member) == first


async def test_a_login_linked_to_another_member_gets_409_and_the_token_stays_usable(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    app: FastAPI,
    linked_member: LinkedMember,
    session_for: SessionFor,
) -> None:
    member, token = await card_with_token(committed_db, app)
    _, already_linked = await linked_member(name="Someone Else")

    page = await client.post(f"/link/{token}", headers=already_linked)
    as_json = await client.post(f"/link/{token}", headers={**already_linked, **JSON})
    fresh_login = await client.post(f"/link/{token}", headers=session_for(unique_slug("new")))

    assert page.status_code == 409
    assert "An admin can move this card to your account." in page.text
    assert as_json.status_code == 409
    assert as_json.json()["error"] == "subject_linked"
    assert fresh_login.status_code == 200
    assert await subject_of(committed_db, member) is not None


async def test_an_expired_token_is_410(
    client: httpx.AsyncClient, committed_db: AsyncSession, app: FastAPI, session_for: SessionFor
) -> None:
    member, token = await card_with_token(committed_db, app, age=timedelta(minutes=16))
    headers = {**session_for(unique_slug("late")), **JSON}

    page = await client.get(f"/link/{token}", headers=headers)
    redeemed = await client.post(f"/link/{token}", headers=headers)

    assert page.status_code == 410
    assert page.json()["error"] == "link_unusable"
    assert redeemed.status_code == 410
    assert redeemed.json()["error"] == "link_token_expired"
    assert await subject_of(committed_db, member) is None


async def test_a_cross_site_post_is_403_and_links_nothing(
    browser: Browser, client: httpx.AsyncClient, committed_db: AsyncSession, app: FastAPI
) -> None:
    member, token = await card_with_token(committed_db, app)
    await browser.login(unique_slug("victim"))

    forged = await client.post(f"/link/{token}", headers={"Origin": "https://evil.example"})
    no_origin = await client.post(f"/link/{token}")
    still_offered = await client.get(f"/link/{token}")

    assert forged.status_code == 403
    assert no_origin.status_code == 403
    assert still_offered.status_code == 200
    assert await subject_of(committed_db, member) is None


async def test_unknown_and_malformed_tokens_are_404(
    client: httpx.AsyncClient, session_for: SessionFor
) -> None:
    headers = {**session_for(unique_slug("m")), **JSON}

    unknown = await client.post(f"/link/{'A' * 43}", headers=headers)
    malformed = await client.post("/link/%00%F0%9F%92%A5", headers=headers)
    shown = await client.get("/link/%00", headers=headers)

    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_link_token")
    assert (malformed.status_code, malformed.json()["error"]) == (404, "unknown_link_token")
    assert shown.status_code == 410


async def test_a_blocked_card_or_a_member_with_a_login_is_409(
    client: httpx.AsyncClient, committed_db: AsyncSession, app: FastAPI, session_for: SessionFor
) -> None:
    blocked_member, blocked_token = await card_with_token(committed_db, app)
    owned_member, owned_token = await card_with_token(committed_db, app)
    await committed_db.execute(
        update(Card).where(Card.member_id == blocked_member.member_id).values(blocked=True)
    )
    await committed_db.execute(
        update(Member)
        .where(Member.id == owned_member.member_id)
        .values(oidc_subject=unique_slug("owner"))
    )
    await committed_db.commit()
    headers = {**session_for(unique_slug("m")), **JSON}

    blocked = await client.post(f"/link/{blocked_token}", headers=headers)
    owned = await client.post(f"/link/{owned_token}", headers=headers)

    assert (blocked.status_code, blocked.json()["error"]) == (409, "card_blocked")
    assert (owned.status_code, owned.json()["error"]) == (409, "card_linked")


async def test_an_api_token_cannot_link_a_card(
    client: httpx.AsyncClient, committed_db: AsyncSession, app: FastAPI
) -> None:
    member, token = await card_with_token(committed_db, app)
    _, api_token = await api_tokens.create(
        committed_db,
        name=unique_slug("script"),
        role="admin",
        now=app.state.clock.now(),
        actor=TESTER,
    )
    await committed_db.commit()
    headers = {"Authorization": f"Bearer {api_token}", **JSON}

    page = await client.get(f"/link/{token}", headers=headers)
    refused = await client.post(f"/link/{token}", headers=headers)

    assert page.status_code == 403
    assert (refused.status_code, refused.json()["error"]) == (403, "api_token")
    assert await subject_of(committed_db, member) is None


async def test_an_expired_session_is_sent_to_log_in_again_not_refused(
    client: httpx.AsyncClient, committed_db: AsyncSession, app: FastAPI
) -> None:
    _, token = await card_with_token(committed_db, app)
    yesterday = app.state.signer.issue(
        subject=unique_slug("m"),
        name="M",
        roles=frozenset(),
        now=app.state.clock.now() - timedelta(days=1),
    )
    client.cookies.set(SESSION_COOKIE, yesterday)

    page = await client.get(f"/link/{token}")
    confirmed = await client.post(f"/link/{token}", headers={"Origin": ORIGIN})

    assert page.status_code == 302
    assert page.headers["location"].startswith("/auth/login?next=")
    assert confirmed.status_code == 401
    assert f'href="/link/{token}"' in confirmed.text


async def test_the_confirm_page_escapes_the_name_speaks_german_and_cannot_be_framed(
    client: httpx.AsyncClient, committed_db: AsyncSession, app: FastAPI
) -> None:
    _, token = await card_with_token(committed_db, app)
    session = app.state.signer.issue(
        subject=unique_slug("m"),
        name='<script>alert("x")</script>',
        roles=frozenset(),
        now=app.state.clock.now(),
    )
    headers = {
        "Authorization": f"Bearer {session}",
        "Accept-Language": "fr;q=1, de-DE;q=0.9, en;q=0.5",
        "Accept": "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
    }

    page = await client.get(f"/link/{token}", headers=headers)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert 'lang="de"' in page.text
    assert "Karte mit meinem Login verknüpfen" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
