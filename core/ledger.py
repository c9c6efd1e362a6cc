"""Every balance change is a conditional UPDATE plus a ledger entry, in the caller's transaction.

The balance check happens inside the UPDATE (`WHERE balance + amount >= floor`), so concurrent
devices can never overdraw an account or lose an update: there is no read-modify-write in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import LedgerEntry, Member


class EntryKind(StrEnum):
    OPENING = "opening"
    CORRECTION = "correction"


@dataclass(frozen=True)
class Posting:
    member_id: int
    amount_cents: int
    kind: EntryKind
    now: datetime
    device_id: int | None = None
    request_id: str | None = None
    actor: str | None = None
    note: str | None = None


async def post(db: AsyncSession, posting: Posting, *, floor_cents: int | None = None) -> int | None:
    """Apply one posting; the new balance, or None when it would fall below `floor_cents`."""
    statement = (
        update(Member)
        .where(Member.id == posting.member_id)
        .values(balance_cents=Member.balance_cents + posting.amount_cents)
        .returning(Member.balance_cents)
    )
    if floor_cents is not None:
        statement = statement.where(Member.balance_cents + posting.amount_cents >= floor_cents)
    balance = (await db.execute(statement)).scalar_one_or_none()
    if balance is None:
        return None
    await db.execute(
        insert(LedgerEntry).values(
            member_id=posting.member_id,
            kind=posting.kind.value,
            amount_cents=posting.amount_cents,
            balance_after_cents=balance,
            device_id=posting.device_id,
            request_id=posting.request_id,
            actor=posting.actor,
            note=posting.note,
            created_at=posting.now,
        )
    )
    return balance
