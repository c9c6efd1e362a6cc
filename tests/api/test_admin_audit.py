"""The audit trail over HTTP: admins read all of it and lab technicians the lending workflow's
share; filtered by entity and by who, paged; what an admin does through the API is in it under
their name, and a device's password never is."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.session_tokens import Role
from core import audit
from core.audit import Actor
from core.models import AuditEvent
from tests.api.conftest import Headers, SessionFor
from tests.factories import T0, make_member, unique_slug

AUDIT = "/api/v1/admin/audit"
LAB_AUDIT = "/api/v1/lab/audit"
Query = dict[str, str | int]
Json = dict[str, Any]


async def _record(db: AsyncSession, actor: Actor, entity: str, entity_id: str, action: str) -> None:
    await audit.Trail(entity).record(db, entity_id, action, actor=actor, now=T0)


async def _events(
    client: httpx.AsyncClient, headers: Headers, path: str = AUDIT, **query: str | int | None
) -> list[Json]:
    response = await client.get(path, params=query, headers=headers)
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


async def test_the_trail_is_filtered_by_entity_and_by_who(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    ada, grace = Actor.person(unique_slug("ada"), "Ada"), Actor.person(unique_slug("grace"))
    lathe = unique_slug("lathe")
    await _record(committed_db, ada, "device", lathe, "disable")
    await _record(committed_db, grace, "device", lathe, "enable")
    await _record(committed_db, ada, "api_token", unique_slug("script"), "revoke")
    await committed_db.commit()

    of_lathe = await _events(client, admin, entity="device", entity_id=lathe)
    by_ada = await _events(client, admin, actor=ada.id)

    assert [(e["action"], e["actor"]["id"]) for e in of_lathe] == [
        ("enable", grace.id),
        ("disable", ada.id),
    ]
    assert [(e["entity"], e["action"]) for e in by_ada] == [
        ("api_token", "revoke"),
        ("device", "disable"),
    ]
    assert by_ada[0]["actor"] == {"kind": "person", "id": ada.id, "name": "Ada"}


async def test_the_trail_is_paged_newest_first(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    ada = Actor.person(unique_slug("ada"))
    for action in ("first", "second", "third"):
        await _record(committed_db, ada, "api_token", unique_slug("script"), action)
    await committed_db.commit()

    first = (await client.get(AUDIT, params={"actor": ada.id, "limit": 2}, headers=admin)).json()
    rest = await _events(client, admin, actor=ada.id, before_id=first["next_before_id"])

    assert [e["action"] for e in first["items"]] == ["third", "second"]
    assert [e["action"] for e in rest] == ["first"]


async def test_a_correction_through_the_api_is_in_the_trail_under_the_admins_login(
    client: httpx.AsyncClient, session_for: SessionFor, committed_db: AsyncSession
) -> None:
    subject = unique_slug("ada")
    ada = session_for(subject, Role.ADMIN)
    member = await make_member(committed_db, balance_cents=1000)
    await committed_db.commit()

    booked = await client.post(
        f"/api/v1/admin/members/{member.member_id}/corrections",
        json={"amount_cents": 500, "reason": "cash found"},
        headers=ada,
    )
    events = await _events(client, ada, entity="member", entity_id=member.member_id)

    assert booked.status_code == 201, booked.text
    latest = events[0]
    assert (latest["actor"]["id"], latest["action"], latest["note"]) == (
        subject,
        "correct_balance",
        "cash found",
    )
    assert (latest["old_value"], latest["new_value"]) == (
        "balance_cents=1000",
        "balance_cents=1500",
    )


async def test_a_technician_reads_the_lending_rows_and_nothing_else(
    client: httpx.AsyncClient, session_for: SessionFor, committed_db: AsyncSession
) -> None:
    ada = Actor.person(unique_slug("ada"))
    for entity in ("project", "equipment_request", "rental_item", "member", "device"):
        await _record(committed_db, ada, entity, unique_slug(entity), "change")
    await committed_db.commit()
    technician = session_for(unique_slug("tech"), Role.TECHNICIAN)

    shared = await _events(client, technician, LAB_AUDIT, actor=ada.id)
    asked_for_members = await _events(client, technician, LAB_AUDIT, entity="member")
    whole = await client.get(AUDIT, headers=technician)

    assert [e["entity"] for e in shared] == ["rental_item", "equipment_request", "project"]
    assert asked_for_members == []
    assert whole.status_code == 403


async def test_the_lending_rows_are_for_technicians_only(
    client: httpx.AsyncClient, session_for: SessionFor
) -> None:
    member = session_for(unique_slug("grace"))

    assert (await client.get(LAB_AUDIT, headers=member)).status_code == 403
    assert (await client.get(LAB_AUDIT)).status_code == 401


@pytest.mark.parametrize("roles", [(), (Role.PRODUCT_MANAGER,), (Role.TECHNICIAN,)])
async def test_anyone_but_an_admin_is_refused(
    client: httpx.AsyncClient, session_for: SessionFor, roles: tuple[Role, ...]
) -> None:
    response = await client.get(AUDIT, headers=session_for(unique_slug("grace"), *roles))

    assert response.status_code == 403


async def test_without_a_login_the_trail_is_refused(client: httpx.AsyncClient) -> None:
    assert (await client.get(AUDIT)).status_code == 401


@pytest.mark.parametrize(
    "query", [{"entity": "Device"}, {"limit": 0}, {"actor": "has space"}, {"entity_id": "x" * 129}]
)
async def test_a_bad_filter_is_refused(
    client: httpx.AsyncClient, admin: Headers, query: Query
) -> None:
    assert (await client.get(AUDIT, params=query, headers=admin)).status_code == 422


@pytest.mark.mqtt
async def test_device_provisioning_is_recorded_and_its_passwords_never_are(
    client: httpx.AsyncClient, admin: Headers, committed_db: AsyncSession
) -> None:
    slug = unique_slug("lathe")
    devices = "/api/v1/admin/devices"

    added = await client.post(devices, json={"slug": slug, "kind": "machine"}, headers=admin)
    rotated = await client.post(f"{devices}/{slug}/rotate", headers=admin)
    disabled = await client.post(f"{devices}/{slug}/disable", headers=admin)
    removed = await client.delete(f"{devices}/{slug}", headers=admin)
    events = await _events(client, admin, entity="device", entity_id=slug)
    said = (
        await committed_db.execute(
            select(AuditEvent.old_value, AuditEvent.new_value, AuditEvent.note)
        )
    ).all()
    await committed_db.commit()

    assert [r.status_code for r in (added, rotated, disabled, removed)] == [201, 200, 200, 204]
    assert [e["action"] for e in events] == ["remove", "disable", "rotate_password", "create"]
    passwords = [r.json()["credentials"]["password"] for r in (added, rotated)]
    text = "\n".join(str(value) for row in said for value in row)
    assert [password in text for password in passwords] == [False, False]
