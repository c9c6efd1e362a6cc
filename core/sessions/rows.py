"""The session row as the billing rules read it: selected and locked with Core statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing import Tariff
from core.db import run
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
