"""Members, cards and the ledger on a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, ledger, members
from core.errors import CardBlocked, Conflict, UnknownCard
from core.models import Card, LedgerEntry, Member
from core.origin import Origin
from tests.factories import T0, TESTER, make_member, unique_uid


async def _ledger_sum(db: AsyncSession, member_id: int) -> int:
    total = await db.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.member_id == member_id
        )
    )
    return int(total or 0)


async def test_opening_balance_is_a_ledger_entry(db: AsyncSession) -> None:
    created = await make_member(db, balance_cents=1234)

    balance = await db.scalar(select(Member.balance_cents).where(Member.id == created.member_id))
    assert balance == created.balance_cents == 1234
    assert await _ledger_sum(db, created.member_id) == 1234


async def test_member_without_opening_balance_has_no_ledger_entry(db: AsyncSession) -> None:
    created = await make_member(db)

    assert created.balance_cents == 0
    count = await db.scalar(select(func.count()).where(LedgerEntry.member_id == created.member_id))
    assert count == 0


async def test_identify_returns_the_holder(db: AsyncSession) -> None:
    uid = unique_uid()
    created = await make_member(db, name="Grace", balance_cents=250, card=uid)

    holder = await cards.identify(db, uid)

    assert (holder.member_id, holder.name, holder.balance_cents, holder.has_pin) == (
        created.member_id,
        "Grace",
        250,
        False,
    )


async def test_identify_unknown_card_is_refused(db: AsyncSession) -> None:
    with pytest.raises(UnknownCard):
        await cards.identify(db, unique_uid())


async def test_identify_blocked_card_is_refused(db: AsyncSession) -> None:
    uid = unique_uid()
    await make_member(db, card=uid)
    card = await db.scalar(select(Card).where(Card.uid == uid))
    assert card is not None
    card.blocked = True
    await db.flush()

    with pytest.raises(CardBlocked):
        await cards.identify(db, uid)


async def test_a_card_belongs_to_one_member(db: AsyncSession) -> None:
    uid = unique_uid()
    await make_member(db, card=uid)

    with pytest.raises(Conflict):
        await members.add_member(db, name="Copycat", card_uid=uid, now=T0, actor=TESTER)


async def test_posting_below_the_floor_changes_nothing(db: AsyncSession) -> None:
    created = await make_member(db, balance_cents=100)

    result = await ledger.post(
        db,
        created.member_id,
        [ledger.Posting(ledger.EntryKind.CORRECTION, -101)],
        Origin(now=T0),
        within_credit=True,
    )

    assert result is None
    assert await _ledger_sum(db, created.member_id) == 100
    balance = await db.scalar(select(Member.balance_cents).where(Member.id == created.member_id))
    assert balance == 100


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("04a1b2c3", "04A1B2C3"),
        ("04:A1:B2:C3:D4:E5:F6", "04A1B2C3D4E5F6"),
        (" 0011223344556677889A ", "0011223344556677889A"),
    ],
)
def test_uids_are_normalized_to_upper_case_hex(raw: str, expected: str) -> None:
    assert cards.normalize_uid(raw) == expected


@pytest.mark.parametrize("raw", ["", "04A1B2", "04A1B2C3D4", "ZZA1B2C3", "04A1B2C3D4E5F6A1B2C3D4"])
def test_uids_of_wrong_length_or_alphabet_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="card UID"):
        cards.normalize_uid(raw)
