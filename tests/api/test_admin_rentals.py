"""Rental admin over HTTP (admin role): items, who has what, and rental permissions; renting
itself goes through `core.rentals`, as the stations' handlers do."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import rentals
from core.devices import DeviceRef
from core.errors import NotAuthorized, UnknownItem
from core.formats import DeviceKind
from core.members import NewMember
from tests.api.conftest import Headers
from tests.factories import T0, make_device, make_member

ITEMS = "/api/v1/admin/rental-items"
PERMISSIONS = "/api/v1/admin/rental-permissions"


def unique_tid() -> str:
    return "e280" + secrets.token_hex(10)


async def _add_item(client: httpx.AsyncClient, admin: Headers, name: str = "Drill") -> str:
    response = await client.post(ITEMS, json={"tid": unique_tid(), "name": name}, headers=admin)
    assert response.status_code == 201, response.text
    tid: str = response.json()["tid"]
    return tid


async def _member_and_station(db: AsyncSession, name: str) -> tuple[NewMember, DeviceRef]:
    member = await make_member(db, name=name)
    station = await make_device(db, kind=DeviceKind.RENTAL)
    await db.commit()
    return member, station


async def _rent(db: AsyncSession, station: DeviceRef, member: NewMember, tid: str) -> None:
    """Rent as a station would, committed; rolled back (so the app can go on) if refused."""
    assert member.card_uid is not None
    try:
        await rentals.rent(db, device_id=station.id, card_uid=member.card_uid, tid=tid, now=T0)
    except Exception:
        await db.rollback()
        raise
    await db.commit()


async def test_rentals_need_the_admin_role(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    without_login = await client.get(ITEMS)
    as_product_manager = await client.put(f"{PERMISSIONS}/1", headers=product_manager)

    assert without_login.status_code == 401
    assert as_product_manager.status_code == 403


async def test_an_item_is_registered_upper_case_and_its_tid_only_once(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    tid = unique_tid()

    added = await client.post(
        ITEMS,
        json={"tid": tid, "name": "Soldering station", "description": "Hakko, 70 W"},
        headers=admin,
    )
    again = await client.post(ITEMS, json={"tid": tid.upper(), "name": "Other"}, headers=admin)

    assert added.status_code == 201
    assert added.json() == {
        "tid": tid.upper(),
        "name": "Soldering station",
        "description": "Hakko, 70 W",
        "active": True,
        "out": False,
        "rental_id": None,
        "member_id": None,
        "member_name": None,
        "since": None,
    }
    assert again.status_code == 409
    assert added.json() in (await client.get(ITEMS, headers=admin)).json()


async def test_a_tag_registered_by_several_requests_at_once_is_created_once(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    body = {"tid": unique_tid(), "name": "Multimeter"}

    answers = await asyncio.gather(
        *[client.post(ITEMS, json=body, headers=admin) for _ in range(6)]
    )

    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tid", "E280XYZ0000000"),
        ("tid", "E280"),
        ("name", "Drill\x00bit"),
        ("name", "Drill\u200dbit"),
        ("description", "Hakko\u202e, 70 W"),
    ],
)
async def test_a_malformed_item_is_422_naming_the_field(
    client: httpx.AsyncClient, admin: Headers, field: str, value: str
) -> None:
    body = {"tid": unique_tid(), "name": "Drill", field: value}

    response = await client.post(ITEMS, json=body, headers=admin)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]


async def test_a_rental_permission_granted_via_the_api_lets_a_member_rent(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member, station = await _member_and_station(committed_db, "Ada Renter")
    tid = await _add_item(client, admin)
    with pytest.raises(NotAuthorized):
        await _rent(committed_db, station, member, tid)

    granted = await client.put(f"{PERMISSIONS}/{member.member_id}", headers=admin)
    await _rent(committed_db, station, member, tid)

    assert granted.status_code == 200
    assert granted.json()["member_name"] == "Ada Renter"
    assert (await client.get(f"{PERMISSIONS}/{member.member_id}", headers=admin)).json() == (
        granted.json()
    )
    [listed] = [i for i in (await client.get(ITEMS, headers=admin)).json() if i["tid"] == tid]
    assert (listed["out"], listed["member_id"], listed["member_name"]) == (
        True,
        member.member_id,
        "Ada Renter",
    )


async def test_a_deactivated_item_cannot_be_rented_until_it_is_activated(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member, station = await _member_and_station(committed_db, "Grace Renter")
    await client.put(f"{PERMISSIONS}/{member.member_id}", headers=admin)
    tid = await _add_item(client, admin)

    deactivated = await client.post(f"{ITEMS}/{tid}/deactivate", headers=admin)
    with pytest.raises(UnknownItem):
        await _rent(committed_db, station, member, tid)
    activated = await client.post(f"{ITEMS}/{tid}/activate", headers=admin)
    await _rent(committed_db, station, member, tid)

    assert deactivated.json()["active"] is False
    assert activated.json()["active"] is True


async def test_a_revoked_permission_stops_renting_and_revoking_again_is_404(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member, station = await _member_and_station(committed_db, "Linus Renter")
    await client.put(f"{PERMISSIONS}/{member.member_id}", headers=admin)
    tid = await _add_item(client, admin)

    revoked = await client.delete(f"{PERMISSIONS}/{member.member_id}", headers=admin)
    again = await client.delete(f"{PERMISSIONS}/{member.member_id}", headers=admin)

    assert revoked.status_code == 204
    assert again.status_code == 404
    assert (await client.get(f"{PERMISSIONS}/{member.member_id}", headers=admin)).status_code == (
        404
    )
    with pytest.raises(NotAuthorized):
        await _rent(committed_db, station, member, tid)


async def test_granting_to_an_unknown_member_is_404(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    response = await client.put(f"{PERMISSIONS}/{2**63 - 1}", headers=admin)

    assert response.status_code == 404


async def test_rentals_show_who_has_what_filtered_by_open_and_paged(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member, station = await _member_and_station(committed_db, "Margaret Renter")
    await client.put(f"{PERMISSIONS}/{member.member_id}", headers=admin)
    returned, kept = await _add_item(client, admin, "Saw"), await _add_item(client, admin, "Tent")
    await _rent(committed_db, station, member, returned)
    await rentals.return_item(committed_db, device_id=station.id, tid=returned, now=T0)
    await _rent(committed_db, station, member, kept)

    async def rentals_of_member(**params: Any) -> list[dict[str, Any]]:
        page = (await client.get("/api/v1/admin/rentals", params=params, headers=admin)).json()
        return [r for r in page["items"] if r["member_id"] == member.member_id]

    newest = (await client.get("/api/v1/admin/rentals", params={"limit": 1}, headers=admin)).json()
    older = (
        await client.get(
            "/api/v1/admin/rentals",
            params={"limit": 1, "before_id": newest["next_before_id"]},
            headers=admin,
        )
    ).json()

    assert [r["tid"] for r in await rentals_of_member(open="true")] == [kept]
    assert [r["tid"] for r in await rentals_of_member(open="false")] == [returned]
    [out] = await rentals_of_member(open="true")
    assert (out["item_name"], out["member_name"], out["returned_at"]) == (
        "Tent",
        "Margaret Renter",
        None,
    )
    assert [r["tid"] for r in newest["items"] + older["items"]] == [kept, returned]


async def test_concurrent_grants_and_revokes_for_one_member_are_all_answered(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    member = await make_member(committed_db, name="Racing Renter")
    await committed_db.commit()
    path = f"{PERMISSIONS}/{member.member_id}"

    answers = await asyncio.gather(
        *[client.put(path, headers=admin) for _ in range(6)],
        *[client.delete(path, headers=admin) for _ in range(3)],
        *[client.put(path, headers=admin) for _ in range(3)],
    )

    assert {answer.status_code for answer in answers} <= {200, 204, 404}
