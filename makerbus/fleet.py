"""Provisioning a fleet of simulated machines with members and cards (simulate, the benchmark).

Re-running with the same prefix reuses what exists: devices get new passwords (makerbus keeps
none), members keep their cards and are topped up to the requested balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker import provisioning
from broker.provisioning import DeviceBroker
from core import devices, ledger, machines, members
from core.billing import Tariff, TariffOverride
from core.models import Card, DeviceKind, Member


@dataclass(frozen=True)
class FleetMachine:
    slug: str
    password: str
    card: str  # the card of the member who uses this machine


def card_of(prefix_code: int, index: int) -> str:
    """A 7-byte UID per simulated member: two prefix bytes, then the index."""
    return f"{prefix_code:04X}{index:010X}"


async def _member(
    db: AsyncSession, card: str, *, name: str, balance_cents: int, now: datetime
) -> int:
    found = await db.scalar(select(Card.member_id).where(Card.uid == card))
    if found is None:
        created = await members.add_member(
            db,
            name=name,
            card_uid=card,
            opening_balance_cents=balance_cents,
            now=now,
            actor="fleet",
        )
        return created.member_id
    balance = await db.scalar(select(Member.balance_cents).where(Member.id == found)) or 0
    if balance < balance_cents:
        await ledger.post(
            db,
            found,
            [ledger.Posting(ledger.EntryKind.CORRECTION, balance_cents - balance, "fleet top-up")],
            ledger.Context(now=now, actor="fleet"),
            within_credit=False,
        )
    return found


async def provision_fleet(
    db: AsyncSession,
    broker: DeviceBroker,
    *,
    prefix: str,
    machine_count: int,
    member_count: int,
    tariff: Tariff,
    balance_cents: int,
    now: datetime,
) -> list[FleetMachine]:
    """`machine_count` machines named `<prefix>-<n>`; machine n is used by member n mod count."""
    prefix_code = sum(prefix.encode()) & 0xFFFF
    member_ids = [
        await _member(
            db,
            card_of(prefix_code, index),
            name=f"{prefix} member {index}",
            balance_cents=balance_cents,
            now=now,
        )
        for index in range(member_count)
    ]
    fleet = []
    for index in range(machine_count):
        slug = f"{prefix}-{index}"
        if await devices.find(db, slug) is None:
            _, credentials = await provisioning.add(
                db,
                broker,
                slug=slug,
                kind=DeviceKind.MACHINE,
                name=f"Simulated {index}",
                now=now,
            )
        else:
            credentials = await provisioning.rotate(db, broker, slug, now=now)
        device_id = await machines.machine_id(db, slug)
        await machines.set_tariff(db, device_id, tariff, now=now, actor="fleet")
        owner = index % member_count
        await machines.authorize(
            db,
            device_id=device_id,
            member_id=member_ids[owner],
            override=TariffOverride(),
            now=now,
            actor="fleet",
        )
        fleet.append(FleetMachine(slug, credentials.password, card_of(prefix_code, owner)))
    return fleet
