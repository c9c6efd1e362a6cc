"""The Snipe-IT outbox: checkouts and check-ins of mirrored items made at the stations.

The sync writes the reports, not the rental: renting never waits for Snipe-IT, and rentals
code knows nothing of it. Each rental of a mirrored item that began once the item was mirrored
(at or after its `created_at`) gets a checkout report, and a check-in report once it is back.
One asset's reports go out one at a time in the order they happened: a later one waits while an
earlier one is failing. A failed report is kept with its error and tried again, backing off from
30 seconds to an hour (longer if Snipe-IT asked, with Retry-After).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.db import run
from core.models import Device, Member, Rental, RentalItem, SnipeItReport

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# A claimed report is free for another sender again after this (its sender died meanwhile).
LEASE = timedelta(minutes=5)
_ERROR_MAX = 500


@dataclass(frozen=True)
class Report:
    """A report waiting to be sent, with what Snipe-IT is told."""

    report_id: int
    rental_id: int
    action: str
    asset_id: int
    item_name: str
    member_name: str
    station: str | None
    at: datetime  # when it happened at the station
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


async def queue(db: AsyncSession, *, now: datetime) -> int:
    """Write the reports that are missing; how many."""
    written = 0
    for action, happened in (("checkout", Rental.rented_at), ("checkin", Rental.returned_at)):
        reported = (
            select(SnipeItReport.id)
            .where(SnipeItReport.rental_id == Rental.id, SnipeItReport.action == action)
            .exists()
        )
        missing = (
            select(Rental.id)
            .join(RentalItem, RentalItem.id == Rental.item_id)
            .where(
                RentalItem.snipeit_asset_id.is_not(None),
                Rental.rented_at >= RentalItem.created_at,
                happened.is_not(None),
                ~reported,
            )
            .order_by(Rental.id)
        )
        rental_ids = (await run(db, missing)).scalars().all()
        if rental_ids:
            rows = [
                {
                    "rental_id": rental_id,
                    "action": action,
                    "created_at": now,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for rental_id in rental_ids
            ]
            try:
                async with db.begin_nested():
                    await run(db, insert(SnipeItReport), rows)
            except IntegrityError:
                # Another sync queued them meanwhile (the unique index): theirs stand; what
                # is still missing is queued by the next sync.
                continue
            written += len(rental_ids)
    return written


_RENTED_AT = aliased(Device)
_RETURNED_AT = aliased(Device)
_IS_CHECKOUT = SnipeItReport.action == "checkout"
_WAITING = (
    select(
        SnipeItReport.id.label("report_id"),
        SnipeItReport.rental_id,
        SnipeItReport.action,
        RentalItem.snipeit_asset_id.label("asset_id"),
        RentalItem.name.label("item_name"),
        Member.name.label("member_name"),
        case((_IS_CHECKOUT, _RENTED_AT.name), else_=_RETURNED_AT.name).label("station"),
        case((_IS_CHECKOUT, Rental.rented_at), else_=Rental.returned_at).label("at"),
        SnipeItReport.attempts,
        SnipeItReport.next_attempt_at,
        SnipeItReport.last_error,
    )
    .join(Rental, Rental.id == SnipeItReport.rental_id)
    .join(RentalItem, RentalItem.id == Rental.item_id)
    .join(Member, Member.id == Rental.member_id)
    .outerjoin(_RENTED_AT, _RENTED_AT.id == Rental.device_id)
    .outerjoin(_RETURNED_AT, _RETURNED_AT.id == Rental.return_device_id)
    .where(SnipeItReport.done_at.is_(None), RentalItem.snipeit_asset_id.is_not(None))
    # In the order it happened: a rental's checkout before its check-in before the next rental.
    .order_by(Rental.rented_at, Rental.id, _IS_CHECKOUT.desc())
)


async def waiting(db: AsyncSession) -> list[Report]:
    """Every report not sent yet, in the order it happened."""
    return [Report(**row._mapping) for row in (await run(db, _WAITING)).all()]


def next_in_line(reports: list[Report], now: datetime) -> list[Report]:
    """Of each asset's waiting reports the earliest, if it is due."""
    first: dict[int, Report] = {}
    for report in reports:
        first.setdefault(report.asset_id, report)
    return [report for report in first.values() if report.next_attempt_at <= now]


async def claim(db: AsyncSession, report: Report, *, now: datetime) -> bool:
    """Take the report to send it, counting the attempt; False if another sender has it."""
    claimed = await run(
        db,
        update(SnipeItReport)
        .where(
            SnipeItReport.id == report.report_id,
            SnipeItReport.done_at.is_(None),
            SnipeItReport.attempts == report.attempts,
            SnipeItReport.next_attempt_at <= now,
        )
        .values(attempts=SnipeItReport.attempts + 1, next_attempt_at=now + LEASE),
    )
    return claimed.rowcount == 1


async def mark_done(db: AsyncSession, report_id: int, *, now: datetime) -> None:
    await run(
        db,
        update(SnipeItReport)
        .where(SnipeItReport.id == report_id)
        .values(done_at=now, last_error=None),
    )


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure."""
    doublings = min(max(0, attempts - 1), 16)  # past the cap long before; no overflow
    return min(BACKOFF_CAP, BACKOFF_BASE * (1 << doublings))


async def mark_failed(
    db: AsyncSession,
    report_id: int,
    error: str,
    *,
    attempts: int,
    now: datetime,
    retry_after: timedelta = timedelta(0),
) -> datetime:
    """Keep the report with its error for another try; when that is."""
    retry_at = now + max(backoff(attempts), retry_after)
    await run(
        db,
        update(SnipeItReport)
        .where(SnipeItReport.id == report_id)
        .values(last_error=error[:_ERROR_MAX], next_attempt_at=retry_at),
    )
    return retry_at
