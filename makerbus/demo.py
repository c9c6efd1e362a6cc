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

from sqlalchemy.ext.asyncio import AsyncSession

from broker import provisioning
from broker.provisioning import DeviceBroker
from core import (
    cards,
    cash_boxes,
    devices,
    ledger,
    machines,
    members,
    pins,
    products,
    rentals,
    stock,
)
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.clock import SystemClock
from core.errors import UnknownCard, UnknownItem, UnknownProduct
from core.formats import DeviceKind
from core.origin import Origin

# Who the trail, the ledger and the grants name for what the demo sets up.
ACTOR = Actor.person("demo")
DEVICES = (
    ("laser-1", DeviceKind.MACHINE, "Laser cutter"),
    ("lathe-1", DeviceKind.MACHINE, "Lathe"),
    ("checkout-1", DeviceKind.CHECKOUT, "Shop checkout"),
    ("bankomat-1", DeviceKind.BANKOMAT, "Bankomat"),
    ("rental-1", DeviceKind.RENTAL, "Rental station"),
)
# (name, card, opening balance, login subject at the dev login provider)
MEMBERS = (
    ("Ada Lovelace", "04A1B2C3D4E5F6", 5000, "ada"),
    ("Grace Hopper", "04B2C3D4E5F607", 250, "grace"),
)
# Who can log in at the dev login provider, with the groups it gives them.
LOGINS = {
    "ada": ("Ada Lovelace", ("makerbus-admins", "makerbus-shop")),
    "grace": ("Grace Hopper", ()),
}
TARIFFS = {
    "laser-1": Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15),
    "lathe-1": Tariff(login_fee_cents=0, price_per_minute_cents=5, interval_min=1),
}
# (EAN, name, price, category, stock, alias EAN or None)
PRODUCTS = (
    ("4006381333931", "Club-Mate 0.5 l", 150, "Drinks", 24, "40063813"),
    ("4001686315354", "Gummy bears", 120, "Snacks", 10, None),
    ("4260107220015", "M3 screw set", 300, "Hardware", 5, None),
)
CASH_BOX = ("main", "Main cash box")
TREASURER = ("04A1B2C3D4E5F6", "1234")  # dev only: Ada is the demo treasurer
RENTAL_ITEMS = (
    ("E2801160600002084A4F5A11", "Cordless drill"),
    ("E2801160600002084A4F5A12", "Oscilloscope"),
)
RENTERS = ("04A1B2C3D4E5F6",)
# Grace looks after the lathe: she lets others use it at its tariff (not herself, no own prices).
SUB_ADMINS = (("lathe-1", "grace"),)
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
    existing = {device.slug for device in await devices.list_all(db)}
    listed = []
    for slug, kind, name in DEVICES:
        if slug in existing and slug in known:
            credentials = known[slug]
        elif slug in existing:
            credentials = (
                await provisioning.rotate(db, broker, slug, now=now, actor=ACTOR)
            ).as_json()
        else:
            _, created = await provisioning.add(
                db, broker, slug=slug, kind=kind, name=name, now=now, actor=ACTOR
            )
            credentials = created.as_json()
        credentials.update(host=broker.device_host, port=broker.device_port)
        listed.append({"slug": slug, "kind": kind.value, "name": name, **credentials})
    return listed


async def _members(db: AsyncSession) -> list[dict[str, Any]]:
    now = SystemClock().now()
    listed = []
    for name, uid, opening, subject in MEMBERS:
        try:
            member_id = await cards.member_of(db, uid)
        except UnknownCard:
            created = await members.add_member(
                db, name=name, card_uid=uid, opening_balance_cents=opening, now=now, actor=ACTOR
            )
            member_id = created.member_id
            await members.link_login(db, member_id, subject, actor=ACTOR, now=now)
        balance = await ledger.balance_of(db, member_id)
        listed.append(
            {
                "member_id": member_id,
                "name": name,
                "card": uid,
                "balance_cents": balance.balance_cents,
                "login": subject,
            }
        )
    return listed


async def _machines(db: AsyncSession) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    now = SystemClock().now()
    tariffs = []
    for slug, tariff in TARIFFS.items():
        device_id = await machines.machine_id(db, slug)
        await machines.set_tariff(db, device_id, tariff, now=now, actor=ACTOR)
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
            member_id=await cards.member_of(db, uid),
            override=TariffOverride(price_per_minute_cents=price),
            now=now,
            actor=ACTOR,
        )
        grants.append({"machine": slug, "card": uid, "price_per_minute_cents": price})
    for slug, subject in SUB_ADMINS:
        device_id = await machines.machine_id(db, slug)
        if not await machines.manages(db, device_id, subject):
            await machines.add_sub_admin(db, device_id, subject, now=now, actor=ACTOR)
    return tariffs, grants


def known_credentials(previous: Path) -> dict[str, dict[str, Any]]:
    """Device credentials from an earlier demo.json, by slug."""
    if not previous.exists():
        return {}
    return {
        entry["slug"]: {key: entry[key] for key in ("username", "password")}
        for entry in json.loads(previous.read_text()).get("devices", [])
    }


async def _shop(db: AsyncSession) -> list[dict[str, Any]]:
    now = SystemClock().now()
    listed = []
    for ean, name, price, category, stock_count, alias in PRODUCTS:
        try:
            await products.find(db, ean)
        except UnknownProduct:
            await products.create(
                db, ean=ean, name=name, price_cents=price, now=now, category=category, actor=ACTOR
            )
            await stock.restock(
                db, ean, stock_count, Origin.of(ACTOR, now=now), reason="demo stock"
            )
            if alias is not None:
                await products.add_alias(db, ean, alias, actor=ACTOR, now=now)
        listed.append({"ean": ean, "alias": alias, "name": name, "price_cents": price})
    return listed


async def _bank(db: AsyncSession) -> dict[str, Any]:
    slug, name = CASH_BOX
    if slug not in {box.slug for box in await cash_boxes.all_boxes(db)}:
        await cash_boxes.create(db, slug=slug, name=name, now=SystemClock().now())
    card, pin = TREASURER
    member_id = await cards.member_of(db, card)
    if not (await members.detail(db, member_id, now=SystemClock().now())).has_pin:
        await pins.set_pin(db, member_id, pin, actor=ACTOR, now=SystemClock().now())
    return {"cash_box": slug, "treasurer": {"card": card, "pin": pin}}


async def _rentals(db: AsyncSession) -> list[dict[str, Any]]:
    now = SystemClock().now()
    for tid, name in RENTAL_ITEMS:
        try:
            await rentals.item(db, tid)
        except UnknownItem:
            await rentals.add_item(db, tid=tid, name=name, description=None, actor=ACTOR, now=now)
    for card in RENTERS:
        await rentals.permit(db, await cards.member_of(db, card), actor=ACTOR, now=now)
    return [{"tid": tid, "name": name} for tid, name in RENTAL_ITEMS]


async def ensure(
    db: AsyncSession, broker: DeviceBroker, known: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Create what is missing and describe all of it."""
    provisioned = await _devices(db, broker, known)
    people = await _members(db)
    tariffs, grants = await _machines(db)
    return {
        "broker": {"host": broker.device_host, "port": broker.device_port},
        "devices": provisioned,
        "members": people,
        "tariffs": tariffs,
        "authorizations": grants,
        "products": await _shop(db),
        "bank": await _bank(db),
        "rental_items": await _rentals(db),
        "rental_permissions": list(RENTERS),
    }


def write(path: Path, demo: dict[str, Any]) -> None:
    """Readable by its owner only: it holds device passwords."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle, indent=2)
