"""How a session closes: the final bill and refund, and the closes no device asked for (an
admin's, the reaper's), which the handler service then announces (`core.sessions.notices`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, ledger
from core.audit import Actor
from core.billing import settle
from core.db import run
from core.errors import SessionClosed, UnknownSession
from core.hotpath.driver import Statement, driver
from core.ledger import EntryKind, Posting
from core.origin import Origin
from core.sessions.rows import LockedRow, S, locked, locking

REAP_AFTER_HEARTBEATS = 3
_CLOSE = Statement(
    "UPDATE sessions SET ended_at = %(ended_at)s, end_reason = %(reason)s,"
    " duration_s = %(duration)s, total_cents = %(total)s, refund_cents = %(refund)s,"
    " device_told_at = %(told_at)s WHERE id = %(session)s"
)


@dataclass(frozen=True)
class Ended:
    """A session just closed: when and why, its bill, and the member's balance after it."""

    session_id: int
    device_id: int
    device_slug: str
    member_id: int
    ended_at: datetime
    reason: str
    duration_s: int
    total_cents: int
    refund_cents: int
    balance_cents: int


async def close(
    db: AsyncSession,
    row: LockedRow,
    *,
    end_at: datetime,
    reason: str,
    origin: Origin,
    device_knows: bool = False,
) -> Ended:
    """Bill the locked session's started minutes up to `end_at` and refund the rest."""
    bill = settle(row.tariff, started=row.started_at, ended=end_at, prepaid_cents=row.prepaid_cents)
    balance = await ledger.post(
        db,
        row.member_id,
        [Posting(EntryKind.SESSION_REFUND, bill.refund_cents)],
        origin,
        within_credit=False,
        session_id=row.id,
    )
    assert balance is not None  # a refund is a credit: no floor applies
    raw = await driver(db)
    told_at = raw.time(origin.now) if device_knows else None
    await raw.run(
        _CLOSE,
        {
            "session": row.id,
            "ended_at": raw.time(end_at),
            "reason": reason,
            "duration": bill.duration_s,
            "total": bill.total_cents,
            "refund": bill.refund_cents,
            "told_at": told_at,
        },
    )
    return Ended(
        session_id=row.id,
        device_id=row.device_id,
        device_slug=row.slug,
        member_id=row.member_id,
        ended_at=end_at,
        reason=reason,
        duration_s=bill.duration_s,
        total_cents=bill.total_cents,
        refund_cents=bill.refund_cents,
        balance_cents=balance.balance_cents,
    )


async def admin_end(db: AsyncSession, *, session_id: int, now: datetime, actor: Actor) -> Ended:
    """An admin closes a session; the handler service then tells the device (`untold`)."""
    row = await locked(db, S.id == session_id)
    if row is None:
        raise UnknownSession(f"no session {session_id}")
    if row.ended_at is not None:
        raise SessionClosed(f"session {session_id} has ended")
    ended = await close(
        db,
        row,
        end_at=min(now, row.paid_until),
        reason="admin",
        origin=Origin(now=now, device_id=row.device_id, actor=actor.id, actor_name=actor.name),
    )
    await audit.SESSION.record(
        db,
        session_id,
        "end",
        actor=actor,
        now=now,
        old=audit.values(state="running", device=ended.device_slug, member=ended.member_id),
        new=audit.values(
            state="ended", total_cents=ended.total_cents, refund_cents=ended.refund_cents
        ),
    )
    return ended


async def reap(db: AsyncSession, *, now: datetime, heartbeat_period: timedelta) -> list[Ended]:
    """Close sessions past their paid time or silent for 3 heartbeat periods.

    Each is billed to its last proof of life. Rows another worker is reaping are skipped.
    """
    silent_since = now - REAP_AFTER_HEARTBEATS * heartbeat_period
    overdue = locking(
        S.ended_at.is_(None),
        or_(S.paid_until <= now, S.last_heartbeat_at <= silent_since),
        skip_locked=True,
    )
    closed = []
    for found in (await run(db, overdue)).all():
        row = LockedRow(**found._mapping)
        reason = "expired" if row.paid_until <= now else "no_heartbeat"
        closed.append(
            await close(
                db,
                row,
                end_at=min(row.last_heartbeat_at, row.paid_until),
                reason=reason,
                origin=Origin(now=now, device_id=row.device_id, actor="reaper"),
            )
        )
    return closed
