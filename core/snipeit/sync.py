"""One Snipe-IT sync: mirror the hardware list, queue the new reports, send the ones due.

No transaction is open while Snipe-IT is asked something: the list is fetched first, then each
report is claimed, sent and recorded in transactions of their own, so a slow Snipe-IT holds no
lock that a station's rental would wait for. A refused report whose effect Snipe-IT shows
already (checked in, or out to our target) counts as done: sending twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.snipeit import reports
from core.snipeit.client import (
    Asset,
    RateLimited,
    Refused,
    SnipeItClient,
    SnipeItError,
    Target,
)
from core.snipeit.mirror import Mirrored, mirror
from core.snipeit.reports import Report


@dataclass
class Synced:
    """What a sync did; `listing_error` when the hardware list could not be read (then no
    item was touched)."""

    mirrored: Mirrored | None
    listing_error: str | None
    queued: int
    due: list[Report]  # each asset's next report, due now: sent or tried (by `preview`: not)
    done: list[Report] = field(default_factory=list)
    failed: list[tuple[Report, str]] = field(default_factory=list)
    waiting: list[Report] = field(default_factory=list)  # not sent yet, after the sync


async def _listing(client: SnipeItClient) -> list[Asset] | str:
    """The hardware list, or why it could not be read."""
    try:
        return await client.assets()
    except SnipeItError as error:
        return str(error)


async def _mirror_and_queue(db: AsyncSession, listing: list[Asset] | str, clock: Clock) -> Synced:
    if isinstance(listing, str):
        mirrored, listing_error = None, listing
    else:
        mirrored, listing_error = await mirror(db, listing, now=clock.now()), None
    queued = await reports.queue(db, now=clock.now())
    due = reports.next_in_line(await reports.waiting(db), clock.now())
    return Synced(mirrored, listing_error, queued, due)


def _station(report: Report) -> str:
    return report.station or "a station"


def _note(report: Report) -> str:
    where = _station(report)
    rental = f"makerbus rental {report.rental_id}"
    if report.action == "checkout":
        return f"Rented by {report.member_name} at {where} ({rental})"
    return f"Returned at {where}, rented by {report.member_name} ({rental})"


async def _deliver(client: SnipeItClient, report: Report, target: Target, zone: ZoneInfo) -> None:
    at = report.at.astimezone(zone)
    try:
        if report.action == "checkout":
            await client.checkout(report.asset_id, target, note=_note(report), at=at)
        else:
            await client.checkin(report.asset_id, note=_note(report), at=at)
    except Refused:
        shown = (await client.asset(report.asset_id)).assigned_to
        if shown != (target if report.action == "checkout" else None):
            raise


async def sync(
    sessions: async_sessionmaker[AsyncSession],
    client: SnipeItClient,
    *,
    target: Target,
    zone: ZoneInfo,
    clock: Clock,
) -> Synced:
    """Mirror, queue, then send each asset's next report that is due."""
    listing = await _listing(client)
    async with sessions() as db, db.begin():
        synced = await _mirror_and_queue(db, listing, clock)
    for report in synced.due:
        async with sessions() as db, db.begin():
            if not await reports.claim(db, report, now=clock.now()):
                continue  # another sender has it
        attempts = report.attempts + 1
        try:
            await _deliver(client, report, target, zone)
        except SnipeItError as error:
            retry_after = timedelta(
                seconds=error.retry_after_s if isinstance(error, RateLimited) else 0
            )
            async with sessions() as db, db.begin():
                await reports.mark_failed(
                    db,
                    report.report_id,
                    str(error),
                    attempts=attempts,
                    now=clock.now(),
                    retry_after=retry_after,
                )
            synced.failed.append((report, str(error)))
            if isinstance(error, RateLimited):
                break  # Snipe-IT asked to slow down: the rest waits for the next sync
        else:
            async with sessions() as db, db.begin():
                await reports.mark_done(db, report.report_id, now=clock.now())
            synced.done.append(report)
    async with sessions() as db:
        synced.waiting = await reports.waiting(db)
    return synced


async def preview(
    sessions: async_sessionmaker[AsyncSession], client: SnipeItClient, *, clock: Clock
) -> Synced:
    """What a sync would change and send, changing and sending nothing (`--dry-run`)."""
    listing = await _listing(client)
    async with sessions() as db:
        await db.begin()
        synced = await _mirror_and_queue(db, listing, clock)
        await db.rollback()
    return synced
