"""Test data with unique keys, so tests sharing a database never collide."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import devices, machines, members
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.devices import DeviceRef
from core.formats import DeviceKind
from core.members import NewMember
from core.models import LedgerEntry, Member

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
# Who the audit trail names for what tests set up.
TESTER = Actor.person("test")
_counter = itertools.count(1)


def unique_slug(prefix: str = "dev") -> str:
    return f"{prefix}-{next(_counter)}-{secrets.token_hex(3)}"


def unique_uid() -> str:
    return "04" + secrets.token_hex(6).upper()


def unique_ean() -> str:
    return f"{secrets.randbelow(10**13):013d}"


def unique_tid() -> str:
    return "E280" + secrets.token_hex(10).upper()


async def make_member(
    db: AsyncSession,
    *,
    name: str = "Ada Lovelace",
    balance_cents: int = 0,
    card: str | None = None,
) -> NewMember:
    return await members.add_member(
        db,
        name=name,
        card_uid=card or unique_uid(),
        opening_balance_cents=balance_cents,
        now=T0,
        actor=TESTER,
    )


async def make_device(
    db: AsyncSession, *, kind: DeviceKind = DeviceKind.MACHINE, slug: str | None = None
) -> DeviceRef:
    slug = slug or unique_slug(kind.value)
    return await devices.create(db, slug=slug, kind=kind, name=f"Test {slug}", now=T0, actor=TESTER)


async def make_machine(db: AsyncSession, tariff: Tariff | None = None) -> DeviceRef:
    """A machine device with a tariff (default: 1.00 login fee, 0.20/min, 15-minute interval)."""
    device = await make_device(db, kind=DeviceKind.MACHINE)
    await machines.set_tariff(db, device.id, tariff or Tariff(100, 20, 15), now=T0, actor=TESTER)
    return device


async def grant(
    db: AsyncSession,
    machine: DeviceRef,
    member: NewMember,
    override: TariffOverride | None = None,
) -> None:
    await machines.authorize(
        db,
        device_id=machine.id,
        member_id=member.member_id,
        override=override or TariffOverride(),
        now=T0,
        actor=TESTER,
    )


async def assert_ledger_matches_balances(db: AsyncSession) -> None:
    """The invariant: every balance equals the sum of its ledger entries."""
    sums = (
        select(LedgerEntry.member_id, func.sum(LedgerEntry.amount_cents).label("total"))
        .group_by(LedgerEntry.member_id)
        .subquery()
    )
    rows = (
        await db.execute(
            select(Member.id, Member.balance_cents, func.coalesce(sums.c.total, 0)).outerjoin(
                sums, sums.c.member_id == Member.id
            )
        )
    ).all()
    mismatched = [
        (member_id, balance, total) for member_id, balance, total in rows if balance != total
    ]
    assert mismatched == []
