"""Shop admin over HTTP: products, aliases, categories, stock and its history, for product
managers and admins only."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from api.session_tokens import Role
from core import products
from core.formats import STOCK_MAX
from tests.api.conftest import Headers, SessionFor
from tests.factories import unique_slug

PRODUCTS = "/api/v1/admin/products"


def unique_ean() -> str:
    """A random EAN-13 with its check digit."""
    digits = f"{secrets.randbelow(10**12):012d}"
    return digits + products.check_digit(digits)


def wrong_check_digit(ean: str) -> str:
    return ean[:-1] + str((int(ean[-1]) + 1) % 10)


async def _create(client: httpx.AsyncClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    body = {"ean": unique_ean(), "name": "Club-Mate 0.5 l", "price_cents": 150, **fields}
    response = await client.post(PRODUCTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_products_need_the_product_manager_or_admin_role(
    client: httpx.AsyncClient, session_for: SessionFor, admin: Headers
) -> None:
    member = session_for(unique_slug("member"))

    without_login = await client.get(PRODUCTS)
    as_member = await client.post(
        PRODUCTS, json={"ean": unique_ean(), "name": "X", "price_cents": 1}, headers=member
    )
    as_admin = await client.post(
        PRODUCTS, json={"ean": unique_ean(), "name": "X", "price_cents": 1}, headers=admin
    )

    assert without_login.status_code == 401
    assert as_member.status_code == 403
    assert as_admin.status_code == 201


async def test_a_created_product_is_listed_with_category_aliases_and_stock(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    category = unique_slug("Drinks")
    created = await _create(client, product_manager, category=category)
    alias = unique_ean()
    await client.post(
        f"{PRODUCTS}/{created['ean']}/aliases", json={"alias": alias}, headers=product_manager
    )

    listed = (await client.get(PRODUCTS, headers=product_manager)).json()
    by_alias = await client.get(f"{PRODUCTS}/{alias}", headers=product_manager)

    expected = {
        "ean": created["ean"],
        "aliases": [alias],
        "name": "Club-Mate 0.5 l",
        "price_cents": 150,
        "category": category,
        "stock": 0,
        "active": True,
        "allow_negative_stock": False,
    }
    assert expected in listed
    assert by_alias.json() == expected


async def test_an_ean_taken_as_another_products_alias_is_409(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    first = await _create(client, product_manager)
    alias = unique_ean()
    await client.post(
        f"{PRODUCTS}/{first['ean']}/aliases", json={"alias": alias}, headers=product_manager
    )

    taken = await client.post(
        PRODUCTS, json={"ean": alias, "name": "Other", "price_cents": 1}, headers=product_manager
    )

    assert taken.status_code == 409
    assert taken.json()["error"] == "conflict"


async def test_an_alias_equal_to_another_products_ean_is_409(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    first = await _create(client, product_manager)
    second = await _create(client, product_manager)

    clash = await client.post(
        f"{PRODUCTS}/{second['ean']}/aliases",
        json={"alias": first["ean"]},
        headers=product_manager,
    )

    assert clash.status_code == 409
    assert (await client.get(f"{PRODUCTS}/{second['ean']}", headers=product_manager)).json()[
        "aliases"
    ] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ean", "12ab5678"),
        ("ean", "1234567"),
        ("name", "   "),
        ("name", "Mate\x00"),
        ("name", "Ma\u202ete"),
        ("category", "Drinks\U000e0041"),
        ("price_cents", -1),
        ("price_cents", 2**70),
        ("category", "x" * 101),
    ],
)
async def test_a_malformed_field_is_422_naming_the_field(
    client: httpx.AsyncClient, product_manager: Headers, field: str, value: object
) -> None:
    body = {"ean": unique_ean(), "name": "Mate", "price_cents": 150, field: value}

    response = await client.post(PRODUCTS, json=body, headers=product_manager)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]


async def test_a_new_ean_or_alias_with_a_wrong_check_digit_is_422_naming_the_field(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    product = await _create(client, product_manager)

    as_ean = await client.post(
        PRODUCTS,
        json={"ean": wrong_check_digit(unique_ean()), "name": "Mate", "price_cents": 150},
        headers=product_manager,
    )
    as_alias = await client.post(
        f"{PRODUCTS}/{product['ean']}/aliases",
        json={"alias": wrong_check_digit(unique_ean())},
        headers=product_manager,
    )

    assert [(e["loc"], e["type"]) for e in as_ean.json()["detail"]] == [
        (["body", "ean"], "ean_check_digit")
    ]
    assert [(e["loc"], e["type"]) for e in as_alias.json()["detail"]] == [
        (["body", "alias"], "ean_check_digit")
    ]


async def test_a_product_manager_can_restock_and_the_movement_is_recorded(
    client: httpx.AsyncClient, session_for: SessionFor
) -> None:
    subject = unique_slug("shop")
    manager = session_for(subject, Role.PRODUCT_MANAGER)
    product = await _create(client, manager)

    restocked = await client.post(
        f"{PRODUCTS}/{product['ean']}/restock",
        json={"count": 24, "note": "delivery 4711"},
        headers=manager,
    )
    history = await client.get(f"{PRODUCTS}/{product['ean']}/movements", headers=manager)

    assert restocked.status_code == 200
    assert restocked.json() == {"ean": product["ean"], "delta": 24, "stock_after": 24}
    [movement] = history.json()["items"]
    assert (movement["kind"], movement["delta"], movement["stock_after"]) == ("restock", 24, 24)
    assert (movement["actor"], movement["note"]) == (subject, "delivery 4711")
    assert history.json()["next_before_id"] is None


async def test_stocktake_records_the_difference_to_the_expected_stock(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    product = await _create(client, product_manager)
    path = f"{PRODUCTS}/{product['ean']}"
    await client.post(f"{path}/restock", json={"count": 10}, headers=product_manager)

    counted = await client.post(
        f"{path}/stocktake", json={"counted": 7, "note": "shelf count"}, headers=product_manager
    )

    assert counted.json() == {"ean": product["ean"], "delta": -3, "stock_after": 7}
    newest = (await client.get(f"{path}/movements", headers=product_manager)).json()["items"][0]
    assert (newest["kind"], newest["delta"], newest["stock_after"]) == ("stocktaking", -3, 7)
    assert (await client.get(path, headers=product_manager)).json()["stock"] == 7


async def test_a_restock_past_the_stock_ceiling_is_409_and_changes_nothing(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    product = await _create(client, product_manager)
    path = f"{PRODUCTS}/{product['ean']}"
    await client.post(f"{path}/restock", json={"count": STOCK_MAX}, headers=product_manager)

    refused = await client.post(f"{path}/restock", json={"count": 1}, headers=product_manager)

    assert refused.status_code == 409
    assert (await client.get(path, headers=product_manager)).json()["stock"] == STOCK_MAX


async def test_movements_are_paged_newest_first(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    product = await _create(client, product_manager)
    path = f"{PRODUCTS}/{product['ean']}"
    for count in (1, 2, 3):
        await client.post(f"{path}/restock", json={"count": count}, headers=product_manager)

    first = (
        await client.get(f"{path}/movements", params={"limit": 2}, headers=product_manager)
    ).json()
    rest = (
        await client.get(
            f"{path}/movements",
            params={"limit": 2, "before_id": first["next_before_id"]},
            headers=product_manager,
        )
    ).json()

    assert [m["delta"] for m in first["items"]] == [3, 2]
    assert [m["delta"] for m in rest["items"]] == [1]
    assert rest["next_before_id"] is None


async def test_patch_changes_only_what_is_given_and_null_category_removes_it(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    product = await _create(client, product_manager, category=unique_slug("Snacks"))
    path = f"{PRODUCTS}/{product['ean']}"

    repriced = await client.patch(path, json={"price_cents": 180}, headers=product_manager)
    retired = await client.patch(
        path, json={"category": None, "active": False}, headers=product_manager
    )

    assert (repriced.json()["price_cents"], repriced.json()["category"]) == (
        180,
        product["category"],
    )
    changed = retired.json()
    assert (changed["price_cents"], changed["category"], changed["active"]) == (180, None, False)
    catalogue = (await client.get("/api/v1/products")).json()
    assert product["ean"] not in [p["ean"] for p in catalogue]


async def test_removing_an_alias_frees_its_ean_but_the_primary_ean_stays(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    product = await _create(client, product_manager)
    alias = unique_ean()
    path = f"{PRODUCTS}/{product['ean']}"
    await client.post(f"{path}/aliases", json={"alias": alias}, headers=product_manager)

    removed = await client.delete(f"{path}/aliases/{alias}", headers=product_manager)
    primary = await client.delete(f"{path}/aliases/{product['ean']}", headers=product_manager)
    again = await client.delete(f"{path}/aliases/{alias}", headers=product_manager)

    assert removed.status_code == 204
    assert (await client.get(f"{PRODUCTS}/{alias}", headers=product_manager)).status_code == 404
    assert primary.status_code == 409
    assert again.status_code == 404
    assert (await _create(client, product_manager, ean=alias))["ean"] == alias


async def test_categories_are_listed_with_their_product_count_and_a_duplicate_is_409(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    empty, used = unique_slug("Tools"), unique_slug("Drinks")
    created = await client.post(
        "/api/v1/admin/categories", json={"name": empty}, headers=product_manager
    )
    await _create(client, product_manager, category=used)

    duplicate = await client.post(
        "/api/v1/admin/categories", json={"name": used}, headers=product_manager
    )
    listed = (await client.get("/api/v1/admin/categories", headers=product_manager)).json()

    assert created.status_code == 201
    assert duplicate.status_code == 409
    assert {"name": empty, "product_count": 0} in listed
    assert {"name": used, "product_count": 1} in listed
