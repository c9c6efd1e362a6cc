"""Self-service link tokens: hashed, single use, 15 minutes, and good for nothing but the link."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import link_tokens
from core.clock import FrozenClock
from core.errors import CardBlocked, CardLinked, Conflict, NotFound, UnknownCard
from core.link_tokens import (
    LinkTokenExpired,
    LinkTokenUsed,
    SubjectLinked,
    UnknownLinkToken,
)
from core.members import NewMember
from core.models import Card, LedgerEntry, LinkToken, Member
from tests.factories import make_member, unique_uid


async def _issue(db: AsyncSession, member: NewMember, clock: FrozenClock) -> str:
    assert member.card_uid is not None
    issued = await link_tokens.issue(db, card_uid=member.card_uid, device_id=None, now=clock.now())
    return issued.token


async def _subject(db: AsyncSession, member: NewMember) -> str | None:
    return await db.scalar(select(Member.oidc_subject).where(Member.id == member.member_id))


async def _redeem_refused(
    db: AsyncSession, token: str, subject: str, clock: FrozenClock
) -> Exception:
    """A refused redeem, in a savepoint as in the web side's one transaction."""
    with pytest.raises(Exception) as refused:  # noqa: PT011 - each test checks the type
        async with db.begin_nested():
            await link_tokens.redeem(db, token, subject=subject, now=clock.now())
    assert isinstance(refused.value, Exception)
    return refused.value


async def _snapshot(db: AsyncSession) -> list[Any]:
    """Every member, card and ledger row, to compare before and after."""
    tables = (
        select(Member).order_by(Member.id),
        select(Card).order_by(Card.id),
        select(LedgerEntry).order_by(LedgerEntry.id),
    )
    rows: list[Any] = []
    for statement in tables:
        for row in (await db.execute(statement.execution_options(populate_existing=True))).all():
            (obj,) = row
            rows.append({c.key: getattr(obj, c.key) for c in obj.__table__.columns})
    return rows


async def test_issue_stores_only_the_sha256_of_the_token(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    assert member.card_uid is not None

    issued = await link_tokens.issue(db, card_uid=member.card_uid, device_id=None, now=clock.now())

    stored_hashes = list(await db.scalars(select(LinkToken.token_hash)))
    digest = hashlib.sha256(issued.token.encode()).hexdigest()
    assert digest in stored_hashes
    assert not any(issued.token in stored for stored in stored_hashes)
    stored = (
        await db.execute(
            select(LinkToken.expires_at, LinkToken.used_at).where(LinkToken.token_hash == digest)
        )
    ).one()
    assert (stored.expires_at, stored.used_at) == (clock.now() + timedelta(minutes=15), None)
    assert issued.expires_at == clock.now() + timedelta(minutes=15)
    assert len(issued.token) >= 43  # 32 random bytes


async def test_issue_twice_gives_two_different_tokens(db: AsyncSession, clock: FrozenClock) -> None:
    member = await make_member(db)

    first, second = await _issue(db, member, clock), await _issue(db, member, clock)

    assert first != second


async def test_issue_for_a_member_with_a_login_raises_card_linked(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    await db.execute(
        update(Member).where(Member.id == member.member_id).values(oidc_subject="sub-linked")
    )

    with pytest.raises(CardLinked):
        await _issue(db, member, clock)


async def test_issue_for_an_unknown_card_raises_unknown_card(
    db: AsyncSession, clock: FrozenClock
) -> None:
    with pytest.raises(UnknownCard):
        await link_tokens.issue(db, card_uid=unique_uid(), device_id=None, now=clock.now())


async def test_issue_for_a_blocked_card_raises_card_blocked(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    await db.execute(update(Card).where(Card.uid == member.card_uid).values(blocked=True))

    with pytest.raises(CardBlocked):
        await _issue(db, member, clock)


async def test_redeem_links_the_login_to_the_cards_member(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    token = await _issue(db, member, clock)

    linked = await link_tokens.redeem(db, token, subject="sub-ada", now=clock.now())

    assert linked == member.member_id
    assert await _subject(db, member) == "sub-ada"


async def test_redeem_a_second_time_raises_used_even_for_another_login(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    token = await _issue(db, member, clock)
    await link_tokens.redeem(db, token, subject="sub-first", now=clock.now())

    refused = await _redeem_refused(db, token, "sub-second", clock)

    assert isinstance(refused, LinkTokenUsed)
    assert await _subject(db, member) == "sub-first"


async def test_redeem_just_before_fifteen_minutes_links(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    token = await _issue(db, member, clock)
    clock.advance(timedelta(minutes=15) - timedelta(seconds=1))

    await link_tokens.redeem(db, token, subject="sub-late", now=clock.now())

    assert await _subject(db, member) == "sub-late"


async def test_redeem_after_fifteen_minutes_raises_expired_and_links_nothing(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    token = await _issue(db, member, clock)
    clock.advance(timedelta(minutes=15))

    refused = await _redeem_refused(db, token, "sub-too-late", clock)

    assert isinstance(refused, LinkTokenExpired)
    assert await _subject(db, member) is None


async def test_redeem_of_an_unknown_token_raises_not_found(
    db: AsyncSession, clock: FrozenClock
) -> None:
    refused = await _redeem_refused(db, "not-a-token", "sub-guess", clock)

    assert isinstance(refused, UnknownLinkToken)
    assert isinstance(refused, NotFound)


async def test_redeem_of_the_stored_hash_is_refused(db: AsyncSession, clock: FrozenClock) -> None:
    member = await make_member(db)
    token = await _issue(db, member, clock)

    refused = await _redeem_refused(db, link_tokens.token_hash(token), "sub-db-reader", clock)

    assert isinstance(refused, UnknownLinkToken)
    assert await _subject(db, member) is None


async def test_redeem_with_a_login_of_another_member_raises_conflict(
    db: AsyncSession, clock: FrozenClock
) -> None:
    owner, member = await make_member(db), await make_member(db)
    await db.execute(
        update(Member).where(Member.id == owner.member_id).values(oidc_subject="sub-owner")
    )
    token = await _issue(db, member, clock)

    refused = await _redeem_refused(db, token, "sub-owner", clock)

    assert isinstance(refused, SubjectLinked)
    assert isinstance(refused, Conflict)
    assert await _subject(db, member) is None


async def test_redeem_for_a_member_linked_meanwhile_raises_card_linked(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    first, second = await _issue(db, member, clock), await _issue(db, member, clock)
    await link_tokens.redeem(db, first, subject="sub-first", now=clock.now())

    refused = await _redeem_refused(db, second, "sub-second", clock)

    assert isinstance(refused, CardLinked)
    assert await _subject(db, member) == "sub-first"


async def test_redeem_for_a_card_blocked_meanwhile_raises_card_blocked(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db)
    token = await _issue(db, member, clock)
    await db.execute(update(Card).where(Card.uid == member.card_uid).values(blocked=True))

    refused = await _redeem_refused(db, token, "sub-finder", clock)

    assert isinstance(refused, CardBlocked)
    assert await _subject(db, member) is None


async def test_redeem_changes_nothing_but_the_members_login(
    db: AsyncSession, clock: FrozenClock
) -> None:
    member = await make_member(db, balance_cents=500)
    await make_member(db, balance_cents=700)
    token = await _issue(db, member, clock)
    before = await _snapshot(db)

    await link_tokens.redeem(db, token, subject="sub-only", now=clock.now())

    after = await _snapshot(db)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert len(changed) == 1
    old, new = changed[0]
    assert {key for key in old if old[key] != new[key]} == {"oidc_subject"}
    assert (new["id"], new["oidc_subject"]) == (member.member_id, "sub-only")


def test_link_url_with_a_trailing_slash_puts_the_token_below_it() -> None:
    assert link_tokens.link_url("https://lab.example/", "tok") == "https://lab.example/link/tok"
