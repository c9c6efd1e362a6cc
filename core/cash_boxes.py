"""Cash boxes ("booking targets") and their ledger.

A box balance changes only through `post`: one conditional UPDATE (the balance never goes below
zero, also under concurrent devices) plus one entry in the same transaction, so the balance is
always the sum of its entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import run
from core.errors import Conflict, UnknownTarget
from core.formats import NAME_MAX, SLUG_PATTERN
from core.models import CashBox, CashBoxEntry, Member
from core.origin import Origin, Recorded
from core.paging import newest_first

_SLUG = re.compile(SLUG_PATTERN)


class BoxEntryKind(StrEnum):
    TOPUP = "topup"
    DONATION = "donation"
    PAYOUT = "payout"


@dataclass(frozen=True)
class Box:
    """A cash box and the money it holds."""

    id: int
    slug: str
    name: str
    balance_cents: int


@dataclass(frozen=True)
class Entry(Recorded):
    """One change of a box's balance, as its statement shows it; `member_id` paid in or out."""

    id: int
    kind: str
    amount_cents: int
    balance_after_cents: int


_BOX_COLUMNS = (CashBox.id, CashBox.slug, CashBox.name, CashBox.balance_cents)


def check_slug(slug: str) -> str:
    """A box slug matches `SLUG_PATTERN`, as devices send it in `target`."""
    if not _SLUG.fullmatch(slug):
        raise ValueError("cash box slug must be 2-40 characters of a-z, 0-9 and -")
    return slug


async def create(db: AsyncSession, *, slug: str, name: str, now: datetime) -> Box:
    """A new, empty cash box; slugs are unique."""
    check_slug(slug)
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"a cash box name is 1-{NAME_MAX} characters")
    if await db.scalar(select(CashBox.id).where(CashBox.slug == slug)) is not None:
        raise _exists(slug)
    try:
        async with db.begin_nested():
            box_id = (
                await run(
                    db,
                    insert(CashBox)
                    .values(slug=slug, name=name, balance_cents=0, created_at=now)
                    .returning(CashBox.id),
                )
            ).scalar_one()
    except IntegrityError:
        # Created by someone else since the check above.
        raise _exists(slug) from None
    return Box(box_id, slug, name, 0)


def _exists(slug: str) -> Conflict:
    return Conflict(f"cash box {slug!r} exists already", target=slug)


async def all_boxes(db: AsyncSession) -> list[Box]:
    """Every cash box, sorted by slug."""
    rows = await run(db, select(*_BOX_COLUMNS).order_by(CashBox.slug))
    return [Box(row.id, row.slug, row.name, row.balance_cents) for row in rows.all()]


async def find(db: AsyncSession, slug: str) -> Box:
    """The box with this slug, or `unknown_target` naming it."""
    row = (await run(db, select(*_BOX_COLUMNS).where(CashBox.slug == slug))).one_or_none()
    if row is None:
        raise UnknownTarget(f"no cash box {slug!r}", target=slug)
    return Box(row.id, row.slug, row.name, row.balance_cents)


async def post(
    db: AsyncSession,
    box_id: int,
    kind: BoxEntryKind,
    amount_cents: int,
    origin: Origin,
    *,
    member_id: int | None = None,
    note: str | None = None,
) -> int | None:
    """Change the box's balance by `amount_cents`; the new balance, or None (nothing changed)
    when it would go below zero. `member_id`: who paid in or took out."""
    balance = (
        await run(
            db,
            update(CashBox)
            .where(CashBox.id == box_id, CashBox.balance_cents + amount_cents >= 0)
            .values(balance_cents=CashBox.balance_cents + amount_cents)
            .returning(CashBox.balance_cents),
        )
    ).scalar_one_or_none()
    if balance is None:
        return None
    await run(
        db,
        insert(CashBoxEntry).values(
            box_id=box_id,
            kind=kind.value,
            amount_cents=amount_cents,
            balance_after_cents=balance,
            member_id=member_id,
            device_id=origin.device_id,
            request_id=origin.request_id,
            actor=origin.actor,
            note=note,
            created_at=origin.now,
        ),
    )
    return int(balance)


_ENTRY_COLUMNS = (
    CashBoxEntry.id,
    CashBoxEntry.kind,
    CashBoxEntry.amount_cents,
    CashBoxEntry.balance_after_cents,
    CashBoxEntry.member_id,
    CashBoxEntry.device_id,
    CashBoxEntry.request_id,
    CashBoxEntry.actor,
    CashBoxEntry.note,
    CashBoxEntry.created_at,
)


async def statement(
    db: AsyncSession,
    box_id: int,
    *,
    limit: int = 100,
    before_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Entry]:
    """The box's most recent entries, newest first; `before_id` pages back (keyset on id);
    `since`/`until` keep only entries made in [since, until)."""
    query = select(*_ENTRY_COLUMNS).where(CashBoxEntry.box_id == box_id, *_within(since, until))
    rows = await run(db, newest_first(query, CashBoxEntry.id, before_id=before_id, limit=limit))
    return [Entry(**row._mapping) for row in rows.all()]


def _within(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    conditions = []
    if since is not None:
        conditions.append(CashBoxEntry.created_at >= since)
    if until is not None:
        conditions.append(CashBoxEntry.created_at < until)
    return conditions


@dataclass(frozen=True)
class Line(Entry):
    """A statement entry with the name of the member it was for (None: no member, or one
    since deleted)."""

    member_name: str | None


@dataclass(frozen=True)
class PeriodStatement:
    """A box's account of [start, end): the balance before, every entry oldest first, the
    balance after, and what came in and went out."""

    box: Box
    start: datetime
    end: datetime
    opening_cents: int
    lines: list[Line]
    paid_in_cents: int
    paid_out_cents: int

    @property
    def closing_cents(self) -> int:
        return self.opening_cents + self.paid_in_cents - self.paid_out_cents


async def period_statement(
    db: AsyncSession, box: Box, start: datetime, end: datetime
) -> PeriodStatement:
    """The statement of `box` for the entries made in [start, end) (e.g. a month), oldest
    first; the opening balance is the balance after the last entry before `start`."""
    opening = await db.scalar(
        select(CashBoxEntry.balance_after_cents)
        .where(CashBoxEntry.box_id == box.id, CashBoxEntry.created_at < start)
        .order_by(CashBoxEntry.id.desc())
        .limit(1)
    )
    rows = await run(
        db,
        select(*_ENTRY_COLUMNS, Member.name.label("member_name"))
        .outerjoin(Member, Member.id == CashBoxEntry.member_id)
        .where(CashBoxEntry.box_id == box.id, *_within(start, end))
        .order_by(CashBoxEntry.id),
    )
    lines = [Line(**row._mapping) for row in rows.all()]
    return PeriodStatement(
        box=box,
        start=start,
        end=end,
        opening_cents=opening or 0,
        lines=lines,
        paid_in_cents=sum(line.amount_cents for line in lines if line.amount_cents > 0),
        paid_out_cents=-sum(line.amount_cents for line in lines if line.amount_cents < 0),
    )


async def mismatched(db: AsyncSession) -> list[tuple[str, int, int]]:
    """Boxes whose balance is not the sum of their entries: (slug, balance, sum); empty is good."""
    sums = (
        select(CashBoxEntry.box_id, func.sum(CashBoxEntry.amount_cents).label("total"))
        .group_by(CashBoxEntry.box_id)
        .subquery()
    )
    rows = await run(
        db,
        select(
            CashBox.slug, CashBox.balance_cents, func.coalesce(sums.c.total, 0).label("total")
        ).outerjoin(sums, sums.c.box_id == CashBox.id),
    )
    return [
        (row.slug, row.balance_cents, row.total)
        for row in rows.all()
        if row.balance_cents != row.total
    ]
