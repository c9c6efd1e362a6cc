"""The figures of the admins' dashboard: today's sales and the sessions running now.

"Today" is the space's calendar day (settings.zone), which is 23 or 25 hours long when the
clocks change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.ledger import EntryKind
from core.models import LedgerEntry, MachineSession


@dataclass(frozen=True)
class Sales:
    """What the shop sold: `count` baskets for `total_cents` together."""

    total_cents: int
    count: int


def day_around(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """The start of the local day `now` falls in and the start of the next one."""
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(), tzinfo=zone)
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)
    return start, end


async def sales_between(db: AsyncSession, start: datetime, end: datetime) -> Sales:
    """Purchases from `start` (included) to `end` (excluded).

    One basket is one ledger entry per product line, all with the member and the moment of the
    purchase, so a basket is counted once by those two.
    """
    baskets = (
        select(
            LedgerEntry.member_id,
            LedgerEntry.created_at,
            func.sum(LedgerEntry.amount_cents).label("amount"),
        )
        .where(
            LedgerEntry.kind == EntryKind.PURCHASE.value,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
        .group_by(LedgerEntry.member_id, LedgerEntry.created_at)
        .subquery()
    )
    row = (
        await db.execute(select(func.coalesce(func.sum(baskets.c.amount), 0), func.count()))
    ).one()
    # Purchases take money from the member: the amounts are negative.
    return Sales(total_cents=-int(row[0]), count=int(row[1]))


async def running_sessions(db: AsyncSession) -> int:
    """Machine sessions open now."""
    count = await db.scalar(
        select(func.count()).select_from(MachineSession).where(MachineSession.ended_at.is_(None))
    )
    return int(count or 0)
