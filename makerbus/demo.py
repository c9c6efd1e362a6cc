"""The demo data of `makerbus dev`, and `var/demo.json`, which lists it for scripts.

Idempotent: each run keeps what exists. Device passwords are known only when created (or
rotated), so they are kept in demo.json (a dev-only file, mode 0600); a device whose password
is not there is rotated.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker import provisioning
from broker.provisioning import DeviceBroker
from core import machines, members
from core.billing import Tariff, TariffOverride
from core.clock import SystemClock
from core.models import Card, Device, DeviceKind, Member

DEVICES = (
    ("laser-1", DeviceKind.MACHINE, "Laser cutter"),
    ("lathe-1", DeviceKind.MACHINE, "Lathe"),
    ("checkout-1", DeviceKind.CHECKOUT, "Shop checkout"),
    ("bankomat-1", DeviceKind.BANKOMAT, "Bankomat"),
    ("rental-1", DeviceKind.RENTAL, "Rental station"),
)
MEMBERS = (
    ("Ada Lovelace", "04A1B2C3D4E5F6", 5000),
    ("Grace Hopper", "04B2C3D4E5F607", 250),
)
TARIFFS = {
    "laser-1": Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15),
    "lathe-1": Tariff(login_fee_cents=0, price_per_minute_cents=5, interval_min=1),
}
# (machine, card, the member's own price per minute or None)
AUTHORIZATIONS = (
    ("laser-1", "04A1B2C3D4E5F6", None),
    ("laser-1", "04B2C3D4E5F607", 10),
    ("lathe-1", "04A1B2C3D4E5F6", None),
)


async def _devices(
    db: AsyncSession, broker: DeviceBroker, known: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    now = SystemClock().now()
    existing = set((await db.scalars(select(Device.slug))).all())
    listed = []
    for slug, kind, name in DEVICES:
        if slug in existing and slug in known:
            credentials = known[slug]
        elif slug in existing:
            credentials = (await provisioning.rotate(db, broker, slug, now=now)).as_json()
        else:
            _, created = await provisioning.add(
                db, broker, slug=slug, kind=kind, name=name, now=now
            )
            credentials = created.as_json()
        credentials.update(host=broker.device_host, port=broker.device_port)
        listed.append({"slug": slug, "kind": kind.value, "name": name, **credentials})
    return listed


async def _members(db: AsyncSession) -> list[dict[str, Any]]:
    now = SystemClock().now()
    listed = []
    for name, uid, opening in MEMBERS:
        if await db.scalar(select(Card.id).where(Card.uid == uid)) is None:
            await members.add_member(
                db, name=name, card_uid=uid, opening_balance_cents=opening, now=now, actor="demo"
            )
        row = (
            await db.execute(
                select(Member.id, Member.balance_cents)
                .join(Card, Card.member_id == Member.id)
                .where(Card.uid == uid)
            )
        ).one()
        listed.append(
            {"member_id": row.id, "name": name, "card": uid, "balance_cents": row.balance_cents}
        )
    return listed


async def _machines(db: AsyncSession) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    now = SystemClock().now()
    tariffs = []
    for slug, tariff in TARIFFS.items():
        device_id = await machines.machine_id(db, slug)
        await machines.set_tariff(db, device_id, tariff, now=now, actor="demo")
        tariffs.append(
            {
                "machine": slug,
                "login_fee_cents": tariff.login_fee_cents,
                "price_per_minute_cents": tariff.price_per_minute_cents,
                "interval_min": tariff.interval_min,
            }
        )
    grants = []
    for slug, uid, price in AUTHORIZATIONS:
        await machines.authorize(
            db,
            device_id=await machines.machine_id(db, slug),
            member_id=await db.scalar(select(Card.member_id).where(Card.uid == uid)) or 0,
            override=TariffOverride(price_per_minute_cents=price),
            now=now,
            actor="demo",
        )
        grants.append({"machine": slug, "card": uid, "price_per_minute_cents": price})
    return tariffs, grants


def known_credentials(previous: Path) -> dict[str, dict[str, Any]]:
    """Device credentials from an earlier demo.json, by slug."""
    if not previous.exists():
        return {}
    return {
        entry["slug"]: {key: entry[key] for key in ("username", "password")}
        for entry in json.loads(previous.read_text()).get("devices", [])
    }


async def ensure(
    db: AsyncSession, broker: DeviceBroker, known: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Create what is missing and describe all of it."""
    devices = await _devices(db, broker, known)
    people = await _members(db)
    tariffs, grants = await _machines(db)
    return {
        "broker": {"host": broker.device_host, "port": broker.device_port},
        "devices": devices,
        "members": people,
        "tariffs": tariffs,
        "authorizations": grants,
    }


def write(path: Path, demo: dict[str, Any]) -> None:
    """Readable by its owner only: it holds device passwords."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle, indent=2)
