"""Sessions as people read them: the admins' list, a member's own, one session.

`Record` is the one read model of a session, open or ended; what it has cost so far
(`charged_cents`) is derived here, once, for every page and answer that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import machines
from core.billing import Tariff
from core.db import run
from core.errors import UnknownSession
from core.models import Device, Member
from core.paging import newest_first
from core.sessions.rows import COLUMNS, S


@dataclass(frozen=True)
class Record:
    """A machine session, open or ended (then with its bill), with the tariff it started with."""

    session_id: int
    device_slug: str
    machine_name: str
    member_id: int
    member_name: str
    tariff: Tariff
    started_at: datetime
    paid_until: datetime
    last_heartbeat_at: datetime
    prepaid_cents: int
    ended_at: datetime | None
    end_reason: str | None
    duration_s: int | None
    total_cents: int | None
    refund_cents: int | None
    device_told_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def charged_cents(self) -> int:
        """Ended: what it cost in the end (login fee and minutes used). Open: what has been
        charged so far (login fee and prepaid intervals), of which the unused part comes back
        at its end."""
        if self.total_cents is None:
            return self.tariff.login_fee_cents + self.prepaid_cents
        return self.total_cents


async def records(
    db: AsyncSession,
    *,
    limit: int,
    before_id: int | None = None,
    is_open: bool | None = None,
    device_id: int | None = None,
    member_id: int | None = None,
    managed_by: str | None = None,
    session_id: int | None = None,
) -> list[Record]:
    """Sessions newest first, `limit` at most from below `before_id`.

    `is_open` keeps only open (True) or ended (False) ones; `device_id` one machine's;
    `member_id` one member's; `managed_by` only the machines this OIDC subject is a sub-admin
    of; `session_id` one.
    """
    statement = (
        select(
            *COLUMNS,
            Device.name.label("machine_name"),
            Member.name,
            S.end_reason,
            S.duration_s,
            S.total_cents,
            S.refund_cents,
            S.device_told_at,
        )
        .join(Device, Device.id == S.device_id)
        .join(Member, Member.id == S.member_id)
    )
    statement = newest_first(statement, S.id, before_id=before_id, limit=limit)
    if is_open is not None:
        statement = statement.where(S.ended_at.is_(None) if is_open else S.ended_at.is_not(None))
    if device_id is not None:
        statement = statement.where(S.device_id == device_id)
    if member_id is not None:
        statement = statement.where(S.member_id == member_id)
    if session_id is not None:
        statement = statement.where(S.id == session_id)
    if managed_by is not None:
        statement = statement.where(S.device_id.in_(machines.managed_devices(managed_by)))
    return [
        Record(
            session_id=row.id,
            device_slug=row.slug,
            machine_name=row.machine_name,
            member_id=row.member_id,
            member_name=row.name,
            tariff=Tariff(row.login_fee_cents, row.price_per_minute_cents, row.interval_min),
            started_at=row.started_at,
            paid_until=row.paid_until,
            last_heartbeat_at=row.last_heartbeat_at,
            prepaid_cents=row.prepaid_cents,
            ended_at=row.ended_at,
            end_reason=row.end_reason,
            duration_s=row.duration_s,
            total_cents=row.total_cents,
            refund_cents=row.refund_cents,
            device_told_at=row.device_told_at,
        )
        for row in (await run(db, statement)).all()
    ]


async def record(db: AsyncSession, session_id: int) -> Record:
    """One session, or UnknownSession."""
    found = await records(db, limit=1, session_id=session_id)
    if not found:
        raise UnknownSession(f"no session {session_id}")
    return found[0]


async def device_of(db: AsyncSession, session_id: int) -> int | None:
    """The machine a session runs or ran on, or None for an unknown session."""
    found: int | None = await db.scalar(select(S.device_id).where(S.id == session_id))
    return found


async def open_counts(db: AsyncSession, device_ids: list[int]) -> dict[int, int]:
    """How many sessions are open on each of these machines (0 for one with none)."""
    rows = await run(
        db,
        select(S.device_id, func.count().label("open_sessions"))
        .where(S.device_id.in_(device_ids), S.ended_at.is_(None))
        .group_by(S.device_id),
    )
    counts = dict.fromkeys(device_ids, 0)
    counts.update({row.device_id: row.open_sessions for row in rows.all()})
    return counts
