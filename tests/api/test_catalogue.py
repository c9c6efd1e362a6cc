"""The public catalogue lists active products, optionally by category."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from core import products, stock
from core.origin import Origin
from tests.factories import T0, TESTER


async def _product(db: AsyncSession, ean: str, name: str, category: str, count: int) -> None:
    await products.create(
        db, ean=ean, name=name, price_cents=150, now=T0, category=category, actor=TESTER
    )
    if count:
        await stock.restock(db, ean, count, Origin(now=T0, actor="test"))


async def test_the_catalogue_lists_active_products_with_category_filter(
    client: httpx.AsyncClient, committed_db: AsyncSession
) -> None:
    await _product(committed_db, "9990000000011", "API mate", "API drinks", 3)
    await _product(committed_db, "9990000000028", "API crisps", "API snacks", 0)
    await _product(committed_db, "9990000000035", "API retired", "API drinks", 1)
    await products.set_active(committed_db, "9990000000035", active=False, actor=TESTER, now=T0)
    await committed_db.commit()

    drinks = (await client.get("/api/v1/products", params={"category": "API drinks"})).json()
    snacks = (await client.get("/api/v1/products", params={"category": "API snacks"})).json()

    assert drinks == [
        {
            "ean": "9990000000011",
            "name": "API mate",
            "price_cents": 150,
            "category": "API drinks",
            "in_stock": True,
        }
    ]
    assert [p["in_stock"] for p in snacks] == [False]


async def test_a_category_with_a_nul_byte_is_422_not_a_crash(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/products", params={"category": "a\x00b"})

    assert response.status_code == 422
