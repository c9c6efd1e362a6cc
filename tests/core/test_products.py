"""The catalogue and stock changes on a real database: EANs, aliases, categories, movements."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import products, stock
from core.errors import Conflict, OutOfStock, ProductInactive, UnknownProduct
from core.formats import DeviceKind
from core.models import StockMovement
from core.origin import Origin
from core.products import ProductInfo
from tests.factories import T0, TESTER, make_device, make_member, unique_ean

ORIGIN = Origin(now=T0, actor="test")


async def make_product(
    db: AsyncSession,
    *,
    price_cents: int = 150,
    stock_units: int = 0,
    name: str = "Club-Mate 0.5 l",
    category: str | None = None,
    allow_negative_stock: bool = False,
) -> ProductInfo:
    """An active product with a fresh EAN and `stock_units` restocked."""
    ean = unique_ean()
    await products.create(
        db,
        ean=ean,
        name=name,
        price_cents=price_cents,
        category=category,
        allow_negative_stock=allow_negative_stock,
        now=T0,
        actor=TESTER,
    )
    if stock_units:
        await stock.restock(db, ean, stock_units, ORIGIN)
    return await products.find(db, ean)


async def movements(db: AsyncSession, product_id: int) -> list[tuple[str, int, int]]:
    """(kind, delta, stock_after) of a product's movements, oldest first."""
    rows = await db.execute(
        select(StockMovement.kind, StockMovement.delta, StockMovement.stock_after)
        .where(StockMovement.product_id == product_id)
        .order_by(StockMovement.id)
    )
    return [(kind, delta, after) for kind, delta, after in rows.all()]


async def test_create_with_category_is_found_by_its_ean(db: AsyncSession) -> None:
    ean = unique_ean()

    created = await products.create(
        db, ean=ean, name="Mate", price_cents=150, category=f"Drinks {ean}", now=T0, actor=TESTER
    )

    assert await products.lookup(db, ean) == created
    assert (created.ean, created.name, created.price_cents, created.stock) == (ean, "Mate", 150, 0)
    assert (created.category, created.active) == (f"Drinks {ean}", True)


async def test_lookup_by_alias_answers_the_primary_ean(db: AsyncSession) -> None:
    product = await make_product(db)
    alias = unique_ean()
    await products.add_alias(db, product.ean, alias, actor=TESTER, now=T0)

    found = await products.lookup(db, alias)

    assert found == product
    assert await products.aliases(db, product.product_id) == [alias]


async def test_find_many_keys_products_by_the_ean_given_and_leaves_out_unknown_ones(
    db: AsyncSession,
) -> None:
    product, other = await make_product(db), await make_product(db)
    alias, unknown = unique_ean(), unique_ean()
    await products.add_alias(db, product.ean, alias, actor=TESTER, now=T0)

    found = await products.find_many(db, [alias, other.ean, unknown])

    assert found == {alias: product, other.ean: other}


async def test_detail_names_the_aliases_beside_the_product(db: AsyncSession) -> None:
    product = await make_product(db)
    aliases = sorted([unique_ean(), unique_ean()])
    for alias in aliases:
        await products.add_alias(db, product.ean, alias, actor=TESTER, now=T0)

    detail = await products.detail(db, product)
    listed = {found.product_id: found for found in await products.all_details(db)}

    assert detail.aliases == tuple(aliases)
    assert (detail.ean, detail.name, detail.stock) == (product.ean, product.name, product.stock)
    assert listed[product.product_id] == detail


@pytest.mark.parametrize(
    ("stock_units", "allow_negative_stock", "in_stock"),
    [(1, False, True), (0, False, False), (0, True, True)],
)
async def test_in_stock_is_a_unit_on_the_shelf_or_negative_stock_allowed(
    db: AsyncSession, stock_units: int, allow_negative_stock: bool, in_stock: bool
) -> None:
    product = await make_product(
        db, stock_units=stock_units, allow_negative_stock=allow_negative_stock
    )

    assert product.in_stock is in_stock


async def test_lookup_of_an_unknown_ean_raises_unknown_product(db: AsyncSession) -> None:
    ean = unique_ean()

    with pytest.raises(UnknownProduct) as refused:
        await products.lookup(db, ean)

    assert refused.value.fields == {"ean": ean}


async def test_lookup_of_a_deactivated_product_raises_product_inactive(db: AsyncSession) -> None:
    product = await make_product(db)
    await products.set_active(db, product.ean, active=False, actor=TESTER, now=T0)

    with pytest.raises(ProductInactive) as refused:
        await products.lookup(db, product.ean)

    assert refused.value.fields == {"ean": product.ean}
    assert (await products.find(db, product.ean)).active is False


@pytest.mark.parametrize("taken", ["primary", "alias"])
async def test_add_alias_of_an_ean_naming_a_product_raises_conflict(
    db: AsyncSession, taken: str
) -> None:
    owner, other = await make_product(db), await make_product(db)
    alias = unique_ean()
    await products.add_alias(db, owner.ean, alias, actor=TESTER, now=T0)
    ean = owner.ean if taken == "primary" else alias

    with pytest.raises(Conflict):
        await products.add_alias(db, other.ean, ean, actor=TESTER, now=T0)

    assert (await products.find(db, ean)).product_id == owner.product_id


async def test_create_with_an_alias_ean_raises_conflict(db: AsyncSession) -> None:
    owner = await make_product(db)
    alias = unique_ean()
    await products.add_alias(db, owner.ean, alias, actor=TESTER, now=T0)

    with pytest.raises(Conflict):
        await products.create(db, ean=alias, name="Other", price_cents=1, now=T0, actor=TESTER)

    assert (await products.find(db, alias)).product_id == owner.product_id


@pytest.mark.parametrize("ean", ["1234567", "123456789012345", "12345678901a", ""])
async def test_create_with_a_malformed_ean_is_refused(db: AsyncSession, ean: str) -> None:
    with pytest.raises(ValueError, match="8 to 14 digits"):
        await products.create(db, ean=ean, name="Mate", price_cents=150, now=T0, actor=TESTER)


@pytest.mark.parametrize("ean", ["4029764001807", "96385074", "00012345678905", "4006381333931"])
def test_a_printed_ean_has_a_valid_check_digit(ean: str) -> None:
    assert products.has_valid_check_digit(ean)


@pytest.mark.parametrize(
    "ean",
    [
        "4029764001808",  # the last digit mistyped
        "4029764010807",  # two neighbours swapped
        "96385075",
        "40297640018x7",
    ],
)
def test_a_mistyped_ean_fails_its_check_digit(ean: str) -> None:
    assert not products.has_valid_check_digit(ean)


async def test_create_with_a_negative_price_is_refused(db: AsyncSession) -> None:
    with pytest.raises(ValueError, match="negative"):
        await products.create(
            db, ean=unique_ean(), name="Mate", price_cents=-1, now=T0, actor=TESTER
        )


async def test_create_with_an_existing_category_name_shares_the_category(
    db: AsyncSession,
) -> None:
    name = f"Snacks {unique_ean()}"

    first = await make_product(db, category=name)
    second = await make_product(db, category=name)

    assert first.category == second.category == name
    assert await products.category_id(db, name) == await products.category_id(db, name)


async def test_restock_adds_units_with_a_movement_row(db: AsyncSession) -> None:
    product = await make_product(db, stock_units=5)

    change = await stock.restock(db, product.ean, 7, ORIGIN, reason="delivery")

    assert change == stock.Change(product.product_id, product.ean, 7, 12)
    assert (await products.find(db, product.ean)).stock == 12
    assert await movements(db, product.product_id) == [("restock", 5, 5), ("restock", 7, 12)]
    reason = await db.scalar(
        select(StockMovement.reason)
        .where(StockMovement.product_id == product.product_id)
        .order_by(StockMovement.id.desc())
    )
    assert reason == "delivery"


async def test_movements_name_the_device_and_the_member_of_a_sale(db: AsyncSession) -> None:
    product = await make_product(db, stock_units=3)
    member = await make_member(db, name="Grace Hopper")
    terminal = await make_device(db, kind=DeviceKind.CHECKOUT)
    sale = stock.Change(product.product_id, product.ean, -1, 2)
    at_terminal = Origin(now=T0, device_id=terminal.id, request_id="r-1")
    await stock.record(
        db, stock.MovementKind.PURCHASE, [sale], at_terminal, member_id=member.member_id
    )

    newest, restocked = await stock.movements(db, product.product_id, limit=2)

    assert (newest.kind, newest.device_slug, newest.member_name) == (
        "purchase",
        terminal.slug,
        "Grace Hopper",
    )
    assert (restocked.device_slug, restocked.member_name, restocked.actor) == (None, None, "test")


async def test_stocktake_sets_the_count_and_records_the_difference(db: AsyncSession) -> None:
    product = await make_product(db, stock_units=10)

    change = await stock.stocktake(db, product.ean, 8, ORIGIN, reason="shelf count")

    assert change == stock.Change(product.product_id, product.ean, -2, 8)
    assert (await products.find(db, product.ean)).stock == 8
    assert (await movements(db, product.product_id))[-1] == ("stocktaking", -2, 8)


async def test_stocktake_of_an_alias_counts_the_product(db: AsyncSession) -> None:
    product = await make_product(db, stock_units=1)
    alias = unique_ean()
    await products.add_alias(db, product.ean, alias, actor=TESTER, now=T0)

    await stock.stocktake(db, alias, 4, ORIGIN)

    assert (await products.find(db, product.ean)).stock == 4


async def test_correction_below_zero_is_refused_and_changes_nothing(db: AsyncSession) -> None:
    product = await make_product(db, stock_units=2)

    with pytest.raises(OutOfStock) as refused:
        await stock.correct(db, product.ean, -3, ORIGIN, reason="broken bottles")

    assert refused.value.fields == {"ean": product.ean, "stock": 2}
    assert (await products.find(db, product.ean)).stock == 2
    assert await movements(db, product.product_id) == [("restock", 2, 2)]


async def test_correction_below_zero_is_booked_where_negative_stock_is_allowed(
    db: AsyncSession,
) -> None:
    product = await make_product(db, stock_units=2, allow_negative_stock=True)

    change = await stock.correct(db, product.ean, -3, ORIGIN, reason="sold without scanning")

    assert change.stock_after == -1
    assert (await movements(db, product.product_id))[-1] == ("correction", -3, -1)


async def test_correction_without_a_reason_is_refused(db: AsyncSession) -> None:
    product = await make_product(db, stock_units=2)

    with pytest.raises(ValueError, match="reason"):
        await stock.correct(db, product.ean, -1, ORIGIN, reason="")


async def test_update_forbidding_negative_stock_while_negative_raises_conflict(
    db: AsyncSession,
) -> None:
    product = await make_product(db, allow_negative_stock=True)
    await stock.correct(db, product.ean, -1, ORIGIN, reason="sold on trust")

    with pytest.raises(Conflict):
        await products.update_product(
            db, product.ean, allow_negative_stock=False, actor=TESTER, now=T0
        )

    assert (await products.find(db, product.ean)).allow_negative_stock is True


async def test_update_changes_name_price_and_category(db: AsyncSession) -> None:
    product = await make_product(db)
    category = f"Drinks {unique_ean()}"

    updated = await products.update_product(
        db,
        product.ean,
        name="Mate (cold)",
        price_cents=180,
        category=category,
        actor=TESTER,
        now=T0,
    )

    assert (updated.name, updated.price_cents, updated.category) == (
        "Mate (cold)",
        180,
        category,
    )


async def test_list_all_includes_inactive_products(db: AsyncSession) -> None:
    product = await make_product(db)
    await products.set_active(db, product.ean, active=False, actor=TESTER, now=T0)

    listed = await products.list_all(db)

    assert [p.active for p in listed if p.product_id == product.product_id] == [False]


async def test_all_details_of_a_category_leaves_out_the_other_products(db: AsyncSession) -> None:
    tools = f"Tools {unique_ean()}"
    drill_bits = await make_product(db, name="Drill bits", category=tools)
    await make_product(db, name="Mate", category=f"Drinks {unique_ean()}")
    await make_product(db, name="Loose screws")

    listed = await products.all_details(db, category=tools)

    assert [(p.product_id, p.category) for p in listed] == [(drill_bits.product_id, tools)]
