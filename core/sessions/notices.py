"""Telling a machine that its session was closed without it (by an admin or the reaper).

The handler service publishes each notice on `cmd/session/terminate` and marks it told, in the
transaction that locked it, so that no two workers announce one session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import run
from core.models import Device
from core.sessions.rows import S


@dataclass(frozen=True)
class Notice:
    """What `cmd/session/terminate` tells a device about a session closed without it."""

    session_id: int
    device_slug: str
    reason: str
    ended_at: datetime
    duration_s: int
    total_cents: int
    refund_cents: int


async def untold(db: AsyncSession, *, limit: int = 100) -> list[Notice]:
    """Sessions the reaper or an admin closed whose device has not been told yet (locked)."""
    statement = (
        select(
            S.id.label("session_id"),
            Device.slug.label("device_slug"),
            S.end_reason.label("reason"),
            S.ended_at,
            S.duration_s,
            S.total_cents,
            S.refund_cents,
        )
        .join(Device, Device.id == S.device_id)
        .where(S.ended_at.is_not(None), S.device_told_at.is_(None))
        .order_by(S.ended_at)
        .limit(limit)
        .with_for_update(of=S, skip_locked=True)
    )
    # Columns that are nullable in general are set on every ended session.
    return [Notice(**row._mapping) for row in (await run(db, statement)).all()]


async def mark_told(db: AsyncSession, session_ids: list[int], *, now: datetime) -> None:
    """Record that the devices of these sessions have been told."""
    if session_ids:
        await run(db, update(S).where(S.id.in_(session_ids)).values(device_told_at=now))
