"""Creating members and giving them cards (the web side reuses these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.errors import Conflict
from core.models import Card, Member


@dataclass(frozen=True)
class NewMember:
    member_id: int
    name: str
    card_uid: str | None
    balance_cents: int


async def add_card(db: AsyncSession, member_id: int, uid: str, *, now: datetime) -> Card:
    """Give a member a card; a UID can belong to one member only."""
    if await db.scalar(select(Card.id).where(Card.uid == uid)) is not None:
        raise Conflict(f"card {uid} is already registered")
    card = Card(uid=uid, member_id=member_id, blocked=False, created_at=now)
    db.add(card)
    await db.flush()
    return card


async def add_member(
    db: AsyncSession,
    *,
    name: str,
    now: datetime,
    card_uid: str | None = None,
    opening_balance_cents: int = 0,
    actor: str | None = None,
) -> NewMember:
    """Create a member, optionally with a card and an opening balance booked in the ledger."""
    member = Member(name=name, balance_cents=0, created_at=now)
    db.add(member)
    await db.flush()
    if card_uid is not None:
        await add_card(db, member.id, card_uid, now=now)
    balance = 0
    if opening_balance_cents:
        posted = await ledger.post(
            db,
            member.id,
            [ledger.Posting(ledger.EntryKind.OPENING, opening_balance_cents, "opening balance")],
            ledger.Context(now=now, actor=actor),
            within_credit=True,
        )
        if posted is None:
            raise ValueError("an opening balance cannot be below the credit limit")
        balance = posted.balance_cents
    return NewMember(member.id, member.name, card_uid, balance)


async def set_credit_limit(db: AsyncSession, member_id: int, credit_limit_cents: int) -> None:
    """How far below zero the member may go; refused if the balance is already lower."""
    if credit_limit_cents < 0:
        raise ValueError("a credit limit cannot be negative")
    result = await db.execute(
        update(Member)
        .where(Member.id == member_id, Member.balance_cents >= -credit_limit_cents)
        .values(credit_limit_cents=credit_limit_cents)
    )
    if not getattr(result, "rowcount", 0):
        raise Conflict("the balance is already below that credit limit, or no such member")
