"""Background work of the handler service: reap sessions, tell devices, forget old answers,
make late equipment requests overdue.

Every worker runs these; row locks with SKIP LOCKED (PostgreSQL) or SQLite's single writer keep
two workers from closing or announcing the same session twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.contract.sessions import SessionTerminateCommand
from broker.topics import Topics
from core import equipment, idempotency, sessions
from core.clock import Clock
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
