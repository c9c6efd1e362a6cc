"""Provisioning a simulated fleet (`makerbus simulate`, the benchmark): machines with members
and cards, and the checkouts, Bankomats and rental stations with the products, cash box and
rental items they need.

Re-running with the same prefix reuses what exists: devices get new passwords (makerbus keeps
none), members keep their cards and are topped up to the requested balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from broker import provisioning
from broker.provisioning import DeviceBroker
from core import (
    cards,
    cash_boxes,
    ledger,
    machines,
    members,
    products,
    rentals,
    stock,
)
from core.audit import Actor
from core.billing import Tariff, TariffOverride
from core.errors import NotFound, UnknownCard, UnknownItem, UnknownProduct, UnknownTarget
from core.formats import DeviceKind
from core.origin import Origin

# Who the trail, the ledger and the grants name for what a fleet is given.
ACTOR = Actor.person("fleet")


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
    try:
        found = await cards.member_of(db, card)
    except UnknownCard:
        created = await members.add_member(
            db,
            name=name,
            card_uid=card,
            opening_balance_cents=balance_cents,
            now=now,
            actor=ACTOR,
        )
        return created.member_id
    balance = (await ledger.balance_of(db, found)).balance_cents
    if balance < balance_cents:
        # Posted directly, not as an admin's members.correct_balance: the benchmark's members
        # hold far more than the bound on what an admin may type.
        await ledger.post(
            db,
            found,
            [ledger.Posting(ledger.EntryKind.CORRECTION, balance_cents - balance, "fleet top-up")],
            Origin.of(ACTOR, now=now),
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
        credentials = await provisioning.ensure(
            db,
            broker,
            slug=slug,
            kind=DeviceKind.MACHINE,
            name=f"Simulated {index}",
            now=now,
            actor=ACTOR,
        )
        device_id = await machines.machine_id(db, slug)
        await machines.set_tariff(db, device_id, tariff, now=now, actor=ACTOR)
        owner = index % member_count
        await machines.authorize(
            db,
            device_id=device_id,
            member_id=member_ids[owner],
            override=TariffOverride(),
            now=now,
            actor=ACTOR,
        )
        fleet.append(FleetMachine(slug, credentials.password, card_of(prefix_code, owner)))
    return fleet


@dataclass(frozen=True)
class FleetDevice:
    slug: str
    password: str


@dataclass(frozen=True)
class FleetShop:
    """The terminals of a mixed fleet and what their simulated members use."""

    checkouts: list[FleetDevice]
    bankomats: list[FleetDevice]
    rentals: list[FleetDevice]
    cards: list[str]  # every fleet member's card
    renters: list[str]  # the cards of the members allowed to rent
    products: list[str]  # EANs, each with a large stock
    cash_box: str
    items: dict[str, bool]  # TID -> out right now


PRODUCT_COUNT = 8
LARGE_STOCK = 100_000
ITEMS_PER_STATION = 3


def ean_of(prefix_code: int, index: int) -> str:
    """A 10-digit in-store EAN per simulated product: 29, the prefix code, the index."""
    return f"29{prefix_code:05d}{index:03d}"


def tid_of(prefix_code: int, index: int) -> str:
    """A 16-hex-digit TID per simulated rental item."""
    return f"E280{prefix_code:04X}{index:08X}"


async def _devices(
    db: AsyncSession,
    broker: DeviceBroker,
    prefix: str,
    kind: DeviceKind,
    count: int,
    *,
    now: datetime,
) -> list[FleetDevice]:
    """`count` devices of a kind named `<prefix>-<kind>-<n>`."""
    made = []
    for index in range(count):
        name = f"Simulated {kind.value} {index}"
        slug = f"{prefix}-{kind.value}-{index}"
        credentials = await provisioning.ensure(
            db, broker, slug=slug, kind=kind, name=name, now=now, actor=ACTOR
        )
        made.append(FleetDevice(slug, credentials.password))
    return made


async def _product(
    db: AsyncSession, ean: str, *, name: str, price_cents: int, now: datetime
) -> None:
    """A product for sale with at least half of LARGE_STOCK in stock."""
    try:
        product = await products.find(db, ean)
    except UnknownProduct:
        product = await products.create(
            db, ean=ean, name=name, price_cents=price_cents, actor=ACTOR, now=now
        )
    if not product.active:
        await products.set_active(db, ean, active=True, actor=ACTOR, now=now)
    if product.stock < LARGE_STOCK // 2:
        origin = Origin.of(ACTOR, now=now)
        await stock.restock(db, ean, LARGE_STOCK - product.stock, origin, reason="fleet stock")


async def _cash_box(db: AsyncSession, slug: str, *, now: datetime) -> str:
    try:
        await cash_boxes.find(db, slug)
    except UnknownTarget:
        await cash_boxes.create(db, slug=slug, name=f"Simulated box {slug}", now=now)
    return slug


async def _item(db: AsyncSession, tid: str, *, name: str, now: datetime) -> bool | None:
    """Register the item unless it is; whether it is out (None: taken out of service)."""
    try:
        await rentals.item(db, tid)
    except UnknownItem:
        await rentals.add_item(
            db, tid=tid, name=name, description="simulated", actor=ACTOR, now=now
        )
        return False
    try:
        return (await rentals.status(db, tid)).out
    except UnknownItem:
        return None


async def provision_shop(
    db: AsyncSession,
    broker: DeviceBroker,
    *,
    prefix: str,
    checkouts: int,
    bankomats: int,
    rentals_count: int,
    member_count: int,
    balance_cents: int,
    now: datetime,
) -> FleetShop:
    """Checkouts, Bankomats and rental stations with the members, products, cash box and
    rental items they need; the members are provision_fleet's (the same prefix, the same
    cards). Half of the members (at least one) may rent."""
    prefix_code = sum(prefix.encode()) & 0xFFFF
    cards = [card_of(prefix_code, index) for index in range(member_count)]
    member_ids = []
    for index, card in enumerate(cards):
        name = f"{prefix} member {index}"
        member_ids.append(await _member(db, card, name=name, balance_cents=balance_cents, now=now))
    renters = max(1, member_count // 2)
    for member_id in member_ids[:renters]:
        try:
            await rentals.permission(db, member_id)
        except NotFound:
            await rentals.permit(db, member_id, actor=ACTOR, now=now)
    eans = [ean_of(prefix_code, index) for index in range(PRODUCT_COUNT if checkouts else 0)]
    for index, ean in enumerate(eans):
        name = f"{prefix} product {index}"
        await _product(db, ean, name=name, price_cents=50 + 25 * index, now=now)
    items = {}
    for index in range(ITEMS_PER_STATION * rentals_count):
        tid = tid_of(prefix_code, index)
        out = await _item(db, tid, name=f"{prefix} item {index}", now=now)
        if out is not None:
            items[tid] = out
    return FleetShop(
        checkouts=await _devices(db, broker, prefix, DeviceKind.CHECKOUT, checkouts, now=now),
        bankomats=await _devices(db, broker, prefix, DeviceKind.BANKOMAT, bankomats, now=now),
        rentals=await _devices(db, broker, prefix, DeviceKind.RENTAL, rentals_count, now=now),
        cards=cards,
        renters=cards[:renters],
        products=eans,
        cash_box=await _cash_box(db, f"{prefix}-box", now=now),
        items=items,
    )
