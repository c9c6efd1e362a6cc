"""Admin cash boxes over HTTP: listing, creating and paged statements, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import bank, cash_boxes
from core.origin import Origin
from tests.api.conftest import Headers
from tests.factories import T0, make_member, unique_slug

BOXES = "/api/v1/admin/cash-boxes"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", BOXES), ("POST", BOXES), ("GET", f"{BOXES}/drinks/statement")],
)
async def test_cash_boxes_need_a_login_and_the_admin_role(
    client: httpx.AsyncClient, product_manager: Headers, method: str, path: str
) -> None:
    anonymous = await client.request(method, path, json={})
    not_admin = await client.request(method, path, json={}, headers=product_manager)

    assert anonymous.status_code == 401
    assert not_admin.status_code == 403


async def test_an_admin_creates_a_cash_box_that_is_listed_empty_and_a_second_one_is_409(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    slug = unique_slug("box")

    created = await client.post(BOXES, headers=admin, json={"slug": slug, "name": " Kaffeekasse "})
    again = await client.post(BOXES, headers=admin, json={"slug": slug, "name": "Other"})
    listed = (await client.get(BOXES, headers=admin)).json()

    assert created.status_code == 201
    assert created.json() == {"slug": slug, "name": "Kaffeekasse", "balance_cents": 0}
    assert (again.status_code, again.json()["error"]) == (409, "conflict")
    assert [box for box in listed if box["slug"] == slug] == [created.json()]
    assert [box["slug"] for box in listed] == sorted(box["slug"] for box in listed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Upper-Case", "name": "Box"}, "slug"),
        ({"slug": "x", "name": "Box"}, "slug"),
        ({"slug": "a" * 41, "name": "Box"}, "slug"),
        ({"slug": "nul-box", "name": "Kasse\x00"}, "name"),
        ({"slug": "empty-box", "name": "  "}, "name"),
        ({"slug": "long-box", "name": "x" * 201}, "name"),
        ({"slug": "extra-box", "name": "Box", "balance_cents": 100}, "balance_cents"),
    ],
)
async def test_creating_a_cash_box_with_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, admin: Headers, body: dict[str, Any], field: str
) -> None:
    refused = await client.post(BOXES, headers=admin, json=body)

    assert refused.status_code == 422
    assert [error["loc"][-1] for error in refused.json()["detail"]] == [field]


async def test_a_statement_pages_newest_first_with_the_balance_after_each_entry(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    box = await cash_boxes.create(committed_db, slug=unique_slug("box"), name="Drinks", now=T0)
    member = await make_member(committed_db)
    origin = Origin(T0, request_id="r-api")
    for amount in (100, 200, 300):
        await bank.donate(committed_db, amount_cents=amount, target=box.slug, origin=origin)
    assert member.card_uid is not None
    await bank.topup(
        committed_db, card_uid=member.card_uid, amount_cents=400, target=box.slug, origin=origin
    )
    await committed_db.commit()
    path = f"{BOXES}/{box.slug}/statement"

    first = (await client.get(path, headers=admin, params={"limit": 3})).json()
    rest = (
        await client.get(
            path, headers=admin, params={"limit": 3, "before_id": first["next_before_id"]}
        )
    ).json()

    assert (first["slug"], first["name"], first["balance_cents"]) == (box.slug, "Drinks", 1000)
    assert [(e["kind"], e["amount_cents"], e["balance_after_cents"]) for e in first["items"]] == [
        ("topup", 400, 1000),
        ("donation", 300, 600),
        ("donation", 200, 300),
    ]
    assert first["items"][0]["member_id"] == member.member_id
    assert first["items"][0]["request_id"] == "r-api"
    assert [(e["amount_cents"], e["balance_after_cents"]) for e in rest["items"]] == [(100, 100)]
    assert rest["next_before_id"] is None


async def test_a_statement_of_an_unknown_box_is_404_and_a_malformed_slug_is_422(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    unknown = await client.get(f"{BOXES}/{unique_slug('nobox')}/statement", headers=admin)
    malformed = await client.get(f"{BOXES}/NOT_A_SLUG/statement", headers=admin)
    bad_page = await client.get(
        f"{BOXES}/{unique_slug('nobox')}/statement", headers=admin, params={"limit": 0}
    )

    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_target")
    assert malformed.status_code == 422
    assert [error["loc"][-1] for error in malformed.json()["detail"]] == ["slug"]
    assert [error["loc"][-1] for error in bad_page.json()["detail"]] == ["limit"]


async def test_a_statement_of_a_month_has_only_that_months_entries(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    box = await cash_boxes.create(committed_db, slug=unique_slug("box"), name="Drinks", now=T0)
    for days, amount in ((-30, 100), (0, 200), (15, 300)):  # October, November, December
        origin = Origin(T0 + timedelta(days=days), request_id=f"r-{amount}")
        await bank.donate(committed_db, amount_cents=amount, target=box.slug, origin=origin)
    await committed_db.commit()
    path = f"{BOXES}/{box.slug}/statement"

    november = (await client.get(path, headers=admin, params={"month": "2026-11"})).json()
    no_month = await client.get(path, headers=admin, params={"month": "2026-13"})

    assert [e["amount_cents"] for e in november["items"]] == [200]
    assert no_month.status_code == 422
    assert [error["loc"][-1] for error in no_month.json()["detail"]] == ["month"]
