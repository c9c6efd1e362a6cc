"""Stock changes: each is one conditional UPDATE of the product row plus a movement row.

The floor lives in the UPDATE (`WHERE allow_negative_stock OR stock >= qty`), so two terminals
selling the last unit can never both succeed; nothing reads a stock, computes and writes it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, products
from core.db import run
from core.errors import Conflict, OutOfStock
from core.formats import STOCK_MAX
from core.models import Device, Member, Product, StockMovement
from core.origin import Origin, Recorded
from core.paging import newest_first


class MovementKind(StrEnum):
    PURCHASE = "purchase"
    RESTOCK = "restock"
    STOCKTAKING = "stocktaking"
    CORRECTION = "correction"


@dataclass(frozen=True)
class Change:
    """One product's stock change: `delta` units, leaving `stock_after`; `ean` is the primary."""

    product_id: int
    ean: str
    delta: int
    stock_after: int


async def take(db: AsyncSession, product_id: int, qty: int) -> int | None:
    """Remove `qty` units; the stock after, or None when the floor forbids it (nothing changed)."""
    row = (
        await run(
            db,
            update(Product)
            .where(
                Product.id == product_id,
                or_(Product.allow_negative_stock, Product.stock >= qty),
            )
            .values(stock=Product.stock - qty)
            .returning(Product.stock),
        )
    ).one_or_none()
    return None if row is None else int(row.stock)


async def current(db: AsyncSession, product_id: int) -> int:
    """The stock now (for messages; never to compute a new stock from)."""
    return int((await run(db, select(Product.stock).where(Product.id == product_id))).scalar_one())


async def record(
    db: AsyncSession,
    kind: MovementKind,
    changes: Sequence[Change],
    origin: Origin,
    *,
    member_id: int | None = None,
    reason: str | None = None,
) -> None:
    """Write one movement row per change; `member_id` is the member who bought."""
    if not changes:
        return
    await run(
        db,
        insert(StockMovement),
        [
            {
                "product_id": change.product_id,
                "kind": kind.value,
                "delta": change.delta,
                "stock_after": change.stock_after,
                "member_id": member_id,
                "device_id": origin.device_id,
                "request_id": origin.request_id,
                "actor": origin.actor,
                "reason": reason,
                "created_at": origin.now,
            }
            for change in changes
        ],
    )


async def _book(
    db: AsyncSession, kind: MovementKind, change: Change, origin: Origin, reason: str | None
) -> None:
    """A person's stock change: its movement and its audit row (sales have movements only)."""
    await record(db, kind, [change], origin, reason=reason)
    await audit.PRODUCT.record(
        db,
        change.ean,
        kind.value,
        actor=origin.who,
        now=origin.now,
        old=audit.values(stock=change.stock_after - change.delta),
        new=audit.values(stock=change.stock_after),
        note=reason,
    )


async def _add(db: AsyncSession, product_id: int, delta: int) -> int | None:
    """Add `delta` (of either sign) unless that breaks the floor; the stock after, or None.

    Conflict when the stock would pass STOCK_MAX.
    """
    if delta < 0:
        return await take(db, product_id, -delta)
    row = (
        await run(
            db,
            update(Product)
            .where(Product.id == product_id, Product.stock <= STOCK_MAX - delta)
            .values(stock=Product.stock + delta)
            .returning(Product.stock),
        )
    ).one_or_none()
    if row is None:
        raise Conflict(f"a stock is at most {STOCK_MAX} units", stock_max=STOCK_MAX)
    return int(row.stock)


async def restock(
    db: AsyncSession, ean: str, qty: int, origin: Origin, *, reason: str | None = None
) -> Change:
    """Goods arrived: add `qty` (at least 1) units."""
    if not 1 <= qty <= STOCK_MAX:
        raise ValueError(f"a restock adds 1 to {STOCK_MAX} units")
    product = await products.find(db, products.check_ean(ean))
    after = await _add(db, product.product_id, qty)
    assert after is not None  # adding has no floor
    change = Change(product.product_id, product.ean, qty, after)
    await _book(db, MovementKind.RESTOCK, change, origin, reason)
    return change


async def stocktake(
    db: AsyncSession, ean: str, count: int, origin: Origin, *, reason: str | None = None
) -> Change:
    """Set the counted stock; the movement's delta is the difference to the recorded stock.

    The row lock (BEGIN IMMEDIATE on SQLite) keeps a concurrent sale from slipping between
    reading the old stock and writing the count.
    """
    if count < 0:
        raise ValueError("a counted stock cannot be negative")
    if count > STOCK_MAX:
        raise ValueError(f"a stock is at most {STOCK_MAX} units")
    product = await products.find(db, products.check_ean(ean))
    before = (
        await run(
            db,
            select(Product.stock).where(Product.id == product.product_id).with_for_update(),
        )
    ).scalar_one()
    await run(db, update(Product).where(Product.id == product.product_id).values(stock=count))
    change = Change(product.product_id, product.ean, count - before, count)
    await _book(db, MovementKind.STOCKTAKING, change, origin, reason)
    return change


async def correct(db: AsyncSession, ean: str, delta: int, origin: Origin, *, reason: str) -> Change:
    """Book a known loss or find (breakage, a miscount) of `delta` units; a reason is required."""
    if delta == 0:
        raise ValueError("a correction changes the stock")
    if not reason:
        raise ValueError("a correction needs a reason")
    product = await products.find(db, products.check_ean(ean))
    after = await _add(db, product.product_id, delta)
    if after is None:
        stock = await current(db, product.product_id)
        raise OutOfStock(f"only {stock} of {product.name} in stock", ean=ean, stock=stock)
    change = Change(product.product_id, product.ean, delta, after)
    await _book(db, MovementKind.CORRECTION, change, origin, reason)
    return change


@dataclass(frozen=True)
class Movement(Recorded):
    """One recorded stock change, as the product's history shows it; `member_id` bought, `note`
    is the reason. `device_slug` and `member_name` name the device and the member for a
    person reading the history."""

    id: int
    kind: str
    delta: int
    stock_after: int
    device_slug: str | None
    member_name: str | None


async def movements(
    db: AsyncSession, product_id: int, *, limit: int, before_id: int | None = None
) -> list[Movement]:
    """A product's movements, newest first: at most `limit`, only ids below `before_id`."""
    statement = (
        select(
            StockMovement.id,
            StockMovement.kind,
            StockMovement.delta,
            StockMovement.stock_after,
            StockMovement.member_id,
            StockMovement.device_id,
            StockMovement.request_id,
            StockMovement.actor,
            StockMovement.reason.label("note"),
            StockMovement.created_at,
            Device.slug.label("device_slug"),
            Member.name.label("member_name"),
        )
        .outerjoin(Device, Device.id == StockMovement.device_id)
        .outerjoin(Member, Member.id == StockMovement.member_id)
        .where(StockMovement.product_id == product_id)
    )
    statement = newest_first(statement, StockMovement.id, before_id=before_id, limit=limit)
    rows = await run(db, statement)
    return [Movement(**row._mapping) for row in rows.all()]
