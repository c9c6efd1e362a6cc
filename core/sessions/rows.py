"""The session row as the billing rules read it, locked: by a machine's own requests as
hand-written SQL on the driver connection (`core.hotpath`), by admins and the reaper with Core
statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing import Tariff
from core.db import run
from core.hotpath.driver import Driver, Row, Statement, driver
from core.models import Device, MachineSession

S = MachineSession
COLUMNS = (
    S.id,
    S.device_id,
    S.member_id,
    S.login_fee_cents,
    S.price_per_minute_cents,
    S.interval_min,
    S.started_at,
    S.paid_until,
    S.last_heartbeat_at,
    S.prepaid_cents,
    S.ended_at,
    Device.slug,
)


@dataclass(frozen=True)
class LockedRow:
    """The columns of a locked session row that the rules need."""

    id: int
    device_id: int
    member_id: int
    login_fee_cents: int
    price_per_minute_cents: int
    interval_min: int
    started_at: datetime
    paid_until: datetime
    last_heartbeat_at: datetime
    prepaid_cents: int
    ended_at: datetime | None
    slug: str

    @property
    def tariff(self) -> Tariff:
        return Tariff(self.login_fee_cents, self.price_per_minute_cents, self.interval_min)


def locking(*conditions: Any, skip_locked: bool = False) -> Select[*tuple[Any, ...]]:
    """The session rows matching `conditions`, with their machine's slug, locked `FOR UPDATE`
    (PostgreSQL; SQLite serialises writers with `BEGIN IMMEDIATE`)."""
    return (
        select(*COLUMNS)
        .join(Device, Device.id == S.device_id)
        .where(*conditions)
        .with_for_update(of=S, skip_locked=skip_locked)
    )


async def locked(db: AsyncSession, *conditions: Any) -> LockedRow | None:
    """The one session row matching `conditions`, locked; None if there is none."""
    row = (await run(db, locking(*conditions))).one_or_none()
    return None if row is None else LockedRow(**row._mapping)


_SELECT_LOCKED = (
    "SELECT s.id, s.device_id, s.member_id, s.login_fee_cents, s.price_per_minute_cents,"
    " s.interval_min, s.started_at, s.paid_until, s.last_heartbeat_at, s.prepaid_cents,"
    " s.ended_at, d.slug FROM sessions s JOIN devices d ON d.id = s.device_id WHERE"
)


def _locked(where: str) -> Statement:
    # `where` is one of the two constants below.
    return Statement(f"{_SELECT_LOCKED} {where}", lock="FOR UPDATE OF s")


_OPEN_ON = _locked("s.device_id = %(device)s AND s.ended_at IS NULL")
_OF_DEVICE = _locked("s.id = %(session)s AND s.device_id = %(device)s")


def _row(found: Driver, row: Row) -> LockedRow:
    times = found.read_time
    return LockedRow(
        id=row[0],
        device_id=row[1],
        member_id=row[2],
        login_fee_cents=row[3],
        price_per_minute_cents=row[4],
        interval_min=row[5],
        started_at=times(row[6]),
        paid_until=times(row[7]),
        last_heartbeat_at=times(row[8]),
        prepaid_cents=row[9],
        ended_at=found.read_optional_time(row[10]),
        slug=row[11],
    )


async def open_on(db: AsyncSession, device_id: int) -> LockedRow | None:
    """The machine's open session, locked; None if it has none."""
    raw = await driver(db)
    found = await raw.rows(_OPEN_ON, {"device": device_id})
    return _row(raw, found[0]) if found else None


async def of_device(db: AsyncSession, device_id: int, session_id: int) -> LockedRow | None:
    """Session `session_id` if it is (or was) this machine's, locked; None otherwise."""
    raw = await driver(db)
    found = await raw.rows(_OF_DEVICE, {"device": device_id, "session": session_id})
    return _row(raw, found[0]) if found else None
