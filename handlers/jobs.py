"""Background work of the handler service: reap sessions, tell devices, forget old answers,
make late equipment requests overdue, sync with Snipe-IT.

Every worker runs these; row locks with SKIP LOCKED (PostgreSQL) or SQLite's single writer keep
two workers from closing or announcing the same session twice. The Snipe-IT sync runs in the
first worker only (slot 1), in a task of its own: it talks to a server far away, and neither a
sweep nor a device's answer waits for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.contract.sessions import SessionTerminateCommand
from broker.topics import Topics
from core import equipment, idempotency, sessions
from core.clock import Clock
from core.settings import Settings
from core.snipeit import sync
from core.snipeit.client import SnipeItClient, Target
from handlers.answers import answer

log = logging.getLogger("makerbus.handlers.jobs")
Publish = Callable[[str, bytes], Awaitable[None]]


def terminate_payload(notice: sessions.Notice) -> bytes:
    command = answer(SessionTerminateCommand, notice)
    return json.dumps(command.model_dump(mode="json"), separators=(",", ":")).encode()


async def sweep_sessions(
    db_sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    heartbeat_period: timedelta,
    topics: Topics,
    publish: Publish,
) -> int:
    """Close overdue sessions, then tell each device whose session was closed without it."""
    async with db_sessions() as db, db.begin():
        reaped = await sessions.reap(db, now=clock.now(), heartbeat_period=heartbeat_period)
    for ended in reaped:
        log.info(
            "session reaped",
            extra={
                "session_id": ended.session_id,
                "reason": ended.reason,
                "device": ended.device_slug,
            },
        )
    async with db_sessions() as db, db.begin():
        notices = await sessions.untold(db)
        for notice in notices:
            await publish(
                topics.command(notice.device_slug, "session/terminate"), terminate_payload(notice)
            )
        await sessions.mark_told(db, [n.session_id for n in notices], now=clock.now())
    return len(notices)


async def prune_answers(
    db_sessions: async_sessionmaker[AsyncSession], clock: Clock, keep: timedelta
) -> None:
    async with db_sessions() as db, db.begin():
        removed = await idempotency.prune(db, now=clock.now(), keep=keep)
    if removed:
        log.info("pruned stored answers", extra={"removed": removed})


async def sweep_requests(
    db_sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> equipment.Swept:
    """Make equipment requests past their end overdue and remind of those due back soon."""
    async with db_sessions() as db, db.begin():
        swept = await equipment.sweep(db, now=clock.now())
    if swept.overdue or swept.reminded:
        log.info(
            "equipment requests swept",
            extra={"overdue": swept.overdue, "reminded": swept.reminded},
        )
    return swept


class Periodic:
    """`work` in a task of its own, at most every `interval_s` and never twice at once: the loop
    that calls `poke` does not wait for it. A failure is logged and tried again next time."""

    def __init__(self, name: str, work: Callable[[], Awaitable[object]], interval_s: float) -> None:
        self._name = name
        self._work = work
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._started = float("-inf")

    def poke(self) -> None:
        """Start the work if it is not running and its interval has passed."""
        if self._task is not None and not self._task.done():
            return
        if time.monotonic() - self._started < self._interval_s:
            return
        self._started = time.monotonic()
        self._task = asyncio.create_task(self._run())

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        try:
            await self._work()
        except Exception:
            log.exception("background job failed; trying again later", extra={"job": self._name})


def snipeit_job(
    settings: Settings, db_sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> Periodic | None:
    """The Snipe-IT sync of this worker, if it is the first one and MAKERBUS_SNIPEIT_URL is set."""
    if not settings.snipeit_url or settings.handler_slot != 1:
        return None
    return Periodic(
        "snipeit",
        lambda: sync_snipeit(db_sessions, clock, settings),
        settings.snipeit_sync_interval_s,
    )


async def sync_snipeit(
    db_sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings
) -> sync.Synced:
    """Mirror Snipe-IT's hardware list, send the reports due, and log what went wrong."""
    async with SnipeItClient.from_settings(settings) as client:
        synced = await sync.sync(
            db_sessions,
            client,
            target=Target.parse(settings.snipeit_checkout_to),
            zone=settings.zone,
            clock=clock,
        )
    _log(synced)
    return synced


def _log(synced: sync.Synced) -> None:
    mirrored = synced.mirrored
    if synced.listing_error:
        log.warning("snipeit hardware list not read", extra={"error": synced.listing_error})
    for problem in mirrored.problems if mirrored else []:
        log.warning(
            "snipeit asset not mirrored",
            extra={"asset_id": problem.asset_id, "asset": problem.name, "problem": problem.text},
        )
    for report, error in synced.failed:
        log.warning(
            "snipeit report not sent",
            extra={"rental_id": report.rental_id, "action": report.action, "error": error},
        )
    # Not `created` & co.: LogRecord has attributes of those names.
    counts = {
        "items_created": len(mirrored.created) if mirrored else 0,
        "items_updated": len(mirrored.updated) if mirrored else 0,
        "items_deactivated": len(mirrored.deactivated) if mirrored else 0,
        "reports_sent": len(synced.done),
        "reports_failed": len(synced.failed),
    }
    level = logging.INFO if any(counts.values()) else logging.DEBUG
    log.log(level, "snipeit synced", extra={**counts, "reports_waiting": len(synced.waiting)})
