"""Baskets and card registration on a real database: every cent, unit and row accounted for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Update, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import checkout, products
from core.checkout import BasketItem, Receipt
from core.devices import DeviceRef
from core.errors import (
    CardBlocked,
    CardExists,
    InsufficientFunds,
    OutOfStock,
    ProductInactive,
    UnknownCard,
    UnknownProduct,
)
from core.formats import DeviceKind
from core.members import NewMember
from core.models import Card, LedgerEntry, Member, StockMovement
from core.origin import Origin
from core.products import ProductInfo
from tests.core.test_products import make_product, movements
from tests.factories import (
    T0,
    TESTER,
    assert_ledger_matches_balances,
    make_device,
    make_member,
    unique_ean,
    unique_uid,
)


async def _buy(
    db: AsyncSession,
    member: NewMember,
    *items: tuple[str, int],
    device: DeviceRef | None = None,
    request_id: str = "buy-1",
) -> Receipt:
    assert member.card_uid is not None
    return await checkout.purchase(
        db,
        card_uid=member.card_uid,
        items=[BasketItem(ean, qty) for ean, qty in items],
        origin=Origin(T0, device_id=None if device is None else device.id, request_id=request_id),
    )


async def _refused_buy(db: AsyncSession, member: NewMember, *items: tuple[str, int]) -> Any:
    """A basket that is refused, inside a savepoint as in the runtime's one transaction."""
    with pytest.raises(Exception) as refused:  # noqa: PT011 - each test checks the type
        async with db.begin_nested():
            await _buy(db, member, *items)
    return refused.value


async def _balance(db: AsyncSession, member: NewMember) -> int:
    balance = await db.scalar(select(Member.balance_cents).where(Member.id == member.member_id))
    assert balance is not None
    return balance


async def _stock(db: AsyncSession, product: ProductInfo) -> int:
    return (await products.find(db, product.ean)).stock


async def _purchases(db: AsyncSession, member: NewMember) -> list[tuple[int, int | None]]:
    rows = await db.execute(
        select(LedgerEntry.amount_cents, LedgerEntry.product_id)
        .where(LedgerEntry.member_id == member.member_id, LedgerEntry.kind == "purchase")
        .order_by(LedgerEntry.id)
    )
    return [(amount, product_id) for amount, product_id in rows.all()]


async def test_purchase_charges_the_total_with_one_entry_and_one_movement_per_line(
    db: AsyncSession,
) -> None:
    device = await make_device(db, kind=DeviceKind.CHECKOUT)
    mate = await make_product(db, price_cents=150, stock_units=10)
    bar = await make_product(db, price_cents=120, stock_units=5, name="Chocolate bar")
    member = await make_member(db, balance_cents=1000)

    receipt = await _buy(db, member, (mate.ean, 2), (bar.ean, 3), device=device)

    assert receipt == Receipt(
        (
            checkout.Line(mate.product_id, mate.ean, mate.name, 2, 150),
            checkout.Line(bar.product_id, bar.ean, bar.name, 3, 120),
        ),
        300 + 360,
        1000 - 660,
    )
    assert await _balance(db, member) == 340
    assert await _purchases(db, member) == [(-300, mate.product_id), (-360, bar.product_id)]
    assert (await _stock(db, mate), await _stock(db, bar)) == (8, 2)
    assert (await movements(db, mate.product_id))[-1] == ("purchase", -2, 8)
    assert (await movements(db, bar.product_id))[-1] == ("purchase", -3, 2)
    who = (
        await db.execute(
            select(StockMovement.member_id, StockMovement.device_id, StockMovement.request_id)
            .where(StockMovement.kind == "purchase")
            .where(StockMovement.product_id.in_([mate.product_id, bar.product_id]))
        )
    ).all()
    assert set(who) == {(member.member_id, device.id, "buy-1")}
    await assert_ledger_matches_balances(db)


async def test_purchase_of_the_same_ean_twice_sums_the_lines(db: AsyncSession) -> None:
    mate = await make_product(db, price_cents=150, stock_units=10)
    member = await make_member(db, balance_cents=1000)

    receipt = await _buy(db, member, (mate.ean, 1), (mate.ean, 2))

    assert [(line.qty, line.total_cents) for line in receipt.lines] == [(3, 450)]
    assert await _stock(db, mate) == 7
    assert await movements(db, mate.product_id) == [("restock", 10, 10), ("purchase", -3, 7)]


async def test_purchase_by_alias_resolves_to_the_product(db: AsyncSession) -> None:
    mate = await make_product(db, price_cents=150, stock_units=10)
    alias = unique_ean()
    await products.add_alias(db, mate.ean, alias, actor=TESTER, now=T0)
    member = await make_member(db, balance_cents=1000)

    receipt = await _buy(db, member, (alias, 1), (mate.ean, 1))

    assert [(line.ean, line.qty) for line in receipt.lines] == [(mate.ean, 2)]
    assert await _stock(db, mate) == 8
    assert await _purchases(db, member) == [(-300, mate.product_id)]


async def test_purchase_with_an_unknown_line_changes_nothing(db: AsyncSession) -> None:
    mate = await make_product(db, price_cents=150, stock_units=10)
    member = await make_member(db, balance_cents=1000)
    unknown = unique_ean()

    refused = await _refused_buy(db, member, (mate.ean, 1), (unknown, 1))

    assert isinstance(refused, UnknownProduct)
    assert refused.fields == {"ean": unknown}
    assert (await _balance(db, member), await _stock(db, mate)) == (1000, 10)
    assert await movements(db, mate.product_id) == [("restock", 10, 10)]


async def test_purchase_with_an_inactive_line_changes_nothing(db: AsyncSession) -> None:
    mate, bar = await make_product(db, stock_units=10), await make_product(db, stock_units=10)
    await products.set_active(db, bar.ean, active=False, actor=TESTER, now=T0)
    member = await make_member(db, balance_cents=1000)

    refused = await _refused_buy(db, member, (mate.ean, 1), (bar.ean, 1))

    assert isinstance(refused, ProductInactive)
    assert refused.fields == {"ean": bar.ean}
    assert (await _balance(db, member), await _stock(db, mate)) == (1000, 10)


async def test_purchase_with_an_out_of_stock_line_changes_nothing(db: AsyncSession) -> None:
    # The product with stock is created first: its lower id is taken first, then rolled back.
    mate = await make_product(db, stock_units=10)
    bar = await make_product(db, stock_units=1)
    alias = unique_ean()
    await products.add_alias(db, bar.ean, alias, actor=TESTER, now=T0)
    member = await make_member(db, balance_cents=1000)

    refused = await _refused_buy(db, member, (mate.ean, 1), (alias, 2))

    assert isinstance(refused, OutOfStock)
    assert refused.fields == {"ean": alias, "stock": 1}
    assert (await _stock(db, mate), await _stock(db, bar)) == (10, 1)
    assert await _balance(db, member) == 1000
    assert await movements(db, mate.product_id) == [("restock", 10, 10)]
    await assert_ledger_matches_balances(db)


async def test_purchase_beyond_the_balance_changes_nothing(db: AsyncSession) -> None:
    mate = await make_product(db, price_cents=150, stock_units=10)
    member = await make_member(db, balance_cents=299)

    refused = await _refused_buy(db, member, (mate.ean, 2))

    assert isinstance(refused, InsufficientFunds)
    assert refused.fields == {"needed_cents": 300, "balance_cents": 299}
    assert (await _balance(db, member), await _stock(db, mate)) == (299, 10)
    assert await movements(db, mate.product_id) == [("restock", 10, 10)]


async def test_purchase_within_the_credit_limit_goes_below_zero(db: AsyncSession) -> None:
    mate = await make_product(db, price_cents=150, stock_units=10)
    member = await make_member(db, balance_cents=100)
    await db.execute(
        update(Member).where(Member.id == member.member_id).values(credit_limit_cents=50)
    )

    receipt = await _buy(db, member, (mate.ean, 1))

    assert receipt.balance_cents == -50


async def test_purchase_takes_stock_below_zero_only_where_allowed(db: AsyncSession) -> None:
    trusted = await make_product(db, stock_units=1, allow_negative_stock=True)
    counted = await make_product(db, stock_units=1)
    member = await make_member(db, balance_cents=10_000)

    await _buy(db, member, (trusted.ean, 3))
    refused = await _refused_buy(db, member, (counted.ean, 2))

    assert await _stock(db, trusted) == -2
    assert (await movements(db, trusted.product_id))[-1] == ("purchase", -3, -2)
    assert isinstance(refused, OutOfStock)
    assert await _stock(db, counted) == 1


async def test_purchase_with_an_unknown_card_raises_unknown_card(db: AsyncSession) -> None:
    mate = await make_product(db, stock_units=1)

    with pytest.raises(UnknownCard):
        await checkout.purchase(
            db,
            card_uid=unique_uid(),
            items=[BasketItem(mate.ean, 1)],
            origin=Origin(T0, request_id="r"),
        )


async def test_purchase_with_a_blocked_card_raises_card_blocked(db: AsyncSession) -> None:
    mate = await make_product(db, stock_units=1)
    member = await make_member(db, balance_cents=1000)
    await db.execute(update(Card).where(Card.uid == member.card_uid).values(blocked=True))

    with pytest.raises(CardBlocked):
        await _buy(db, member, (mate.ean, 1))

    assert await _stock(db, mate) == 1


@contextmanager
def _product_updates(db: AsyncSession) -> Iterator[list[int]]:
    """The product id of every `UPDATE products` executed meanwhile, in order."""
    seen: list[int] = []
    connection = db.sync_session.connection()

    def listen(_conn: Any, clause: Any, *_: Any) -> None:
        if isinstance(clause, Update) and getattr(clause.table, "name", None) == "products":
            params = clause.compile().params
            seen.extend(value for key, value in params.items() if key.startswith("id_"))

    event.listen(connection, "before_execute", listen)
    try:
        yield seen
    finally:
        event.remove(connection, "before_execute", listen)


async def test_purchase_takes_stock_in_ascending_product_order(db: AsyncSession) -> None:
    first, second, third = [await make_product(db, stock_units=5) for _ in range(3)]
    member = await make_member(db, balance_cents=10_000)

    with _product_updates(db) as updated:
        await _buy(db, member, (third.ean, 1), (first.ean, 1), (second.ean, 1))

    assert updated == [first.product_id, second.product_id, third.product_id]


async def test_register_card_creates_a_member_with_zero_balance_and_a_default_name(
    db: AsyncSession,
) -> None:
    uid = unique_uid()

    created = await checkout.register_card(db, card_uid=uid, name=None, now=T0, actor=TESTER)

    assert (created.name, created.balance_cents, created.card_uid) == (
        f"Member {uid[-4:]}",
        0,
        uid,
    )
    owner = await db.scalar(select(Card.member_id).where(Card.uid == uid))
    assert owner == created.member_id


async def test_register_card_keeps_the_given_name(db: AsyncSession) -> None:
    created = await checkout.register_card(
        db, card_uid=unique_uid(), name="  Grace Hopper ", now=T0, actor=TESTER
    )

    assert created.name == "Grace Hopper"


async def test_register_a_known_card_raises_card_exists(db: AsyncSession) -> None:
    member = await make_member(db)
    assert member.card_uid is not None
    members_before = await db.scalar(select(Member.id).order_by(Member.id.desc()).limit(1))

    with pytest.raises(CardExists):
        async with db.begin_nested():
            await checkout.register_card(
                db, card_uid=member.card_uid, name="Thief", now=T0, actor=TESTER
            )

    assert await db.scalar(select(Member.id).order_by(Member.id.desc()).limit(1)) == (
        members_before
    )
