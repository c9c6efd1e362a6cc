"""The lending workflow over HTTP: members' projects and requests under /api/v1/me, the lab
technicians' decisions under /api/v1/lab, notifications for both. The rules are the core's
(tests/core); here: that they hold through HTTP, who may call what, and the refusals' shapes."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.session_tokens import Role
from core import members
from core.clock import FrozenClock, rfc3339
from core.settings import Settings
from tests.api.browser import Browser
from tests.api.conftest import Headers, LinkedMember, SessionFor
from tests.factories import T0, TESTER, unique_slug

PROJECTS = "/api/v1/me/projects"
REQUESTS = "/api/v1/me/requests"
LAB = "/api/v1/lab"
HOUR = timedelta(hours=1)


TECHNICIANS = "lab-technicians"


@pytest.fixture
def app(api_settings: Settings) -> FastAPI:
    """The app on a clock stopped at T0 (periods are asked for from then), with a technician
    group of its own."""
    settings = api_settings.model_copy(update={"technician_group": TECHNICIANS})
    return create_app(settings, clock=FrozenClock(T0))


@pytest.fixture
def technician(session_for: SessionFor) -> Headers:
    """A login of the technician group, without the admin role."""
    return session_for(unique_slug("tech"), Role.TECHNICIAN)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _item(client: httpx.AsyncClient, admin: Headers, name: str = "Cordless drill") -> str:
    tid = "E280" + secrets.token_hex(10).upper()
    ok(
        await client.post(
            "/api/v1/admin/rental-items", json={"tid": tid, "name": name}, headers=admin
        ),
        201,
    )
    return tid


async def _project(
    client: httpx.AsyncClient, leader: Headers, technician: Headers | None = None
) -> int:
    """A project the `leader` creates; approved when a technician is given."""
    created = ok(await client.post(PROJECTS, json={"name": "Robot arm"}, headers=leader), 201)
    if technician is not None:
        ok(
            await client.post(
                f"{LAB}/projects/{created['id']}/approve", json={}, headers=technician
            )
        )
    return int(created["id"])


def _period(hours: int = 4, start: timedelta = timedelta(0)) -> dict[str, str]:
    return {"starts_at": rfc3339(T0 + start), "ends_at": rfc3339(T0 + start + hours * HOUR)}


async def _request(
    client: httpx.AsyncClient, member: Headers, project_id: int, tid: str, **period: str
) -> httpx.Response:
    body = {"project_id": project_id, "tid": tid, **(period or _period())}
    return await client.post(REQUESTS, json=body, headers=member)


async def test_a_member_creates_a_project_that_a_technician_of_the_group_approves(
    client: httpx.AsyncClient, linked_member: LinkedMember, technician: Headers
) -> None:
    member_id, grace = await linked_member("Grace Hopper")

    created = ok(
        await client.post(
            PROJECTS, json={"name": " Robot arm ", "description": "6 axes"}, headers=grace
        ),
        201,
    )
    waiting = ok(await client.get(f"{LAB}/projects", headers=technician))
    approved = ok(
        await client.post(
            f"{LAB}/projects/{created['id']}/approve", json={"note": "go"}, headers=technician
        )
    )
    mine = ok(await client.get(PROJECTS, headers=grace))

    assert (created["name"], created["status"], created["members"][0]["member_id"]) == (
        "Robot arm",
        "pending",
        member_id,
    )
    assert created["id"] in [project["id"] for project in waiting["items"]]
    assert (approved["status"], approved["decision_note"]) == ("active", "go")
    assert [(p["id"], p["role"], p["status"]) for p in mine] == [
        (created["id"], "leader", "active")
    ]


async def test_a_login_in_the_technician_group_opens_the_lab_and_one_without_does_not(
    browser: Browser, client: httpx.AsyncClient
) -> None:
    await browser.login(unique_slug("tech"), groups=[TECHNICIANS])
    as_technician = await client.get(f"{LAB}/projects")
    await browser.login(unique_slug("grace"), groups=["other"])
    as_someone_else = await client.get(f"{LAB}/projects")

    assert as_technician.status_code == 200
    assert as_someone_else.status_code == 403


async def test_only_technicians_decide_and_only_logged_in_members_create(
    client: httpx.AsyncClient, linked_member: LinkedMember, admin: Headers
) -> None:
    _, grace = await linked_member("Grace Hopper")
    project_id = await _project(client, grace)

    by_grace = await client.post(f"{LAB}/projects/{project_id}/approve", json={}, headers=grace)
    nobody = await client.post(PROJECTS, json={"name": "Anonymous"})
    by_admin = await client.post(f"{LAB}/projects/{project_id}/approve", json={}, headers=admin)

    assert by_grace.status_code == 403
    assert nobody.status_code == 401
    assert ok(by_admin)["status"] == "active"


async def test_another_members_project_and_request_are_not_found(
    client: httpx.AsyncClient, linked_member: LinkedMember, technician: Headers, admin: Headers
) -> None:
    _, grace = await linked_member("Grace Hopper")
    _, mallory = await linked_member("Mallory")
    project_id = await _project(client, grace, technician)
    request_id = ok(await _request(client, grace, project_id, await _item(client, admin)), 201)[
        "id"
    ]

    looks = [
        await client.get(f"{PROJECTS}/{project_id}", headers=mallory),
        await client.get(f"{PROJECTS}/{project_id}/requests", headers=mallory),
        await client.get(f"{REQUESTS}/{request_id}", headers=mallory),
        await client.post(f"{REQUESTS}/{request_id}/cancel", json={}, headers=mallory),
    ]
    theirs = await _request(client, mallory, project_id, await _item(client, admin))

    assert [(r.status_code, r.json()["error"]) for r in looks] == [(404, "not_found")] * 4
    assert (theirs.status_code, theirs.json()["error"]) == (403, "not_authorized")


async def test_a_decision_twice_is_a_conflict_and_a_rejection_needs_a_reason(
    client: httpx.AsyncClient, linked_member: LinkedMember, technician: Headers
) -> None:
    _, grace = await linked_member("Grace Hopper")
    project_id = await _project(client, grace, technician)
    other_id = await _project(client, grace)

    again = await client.post(f"{LAB}/projects/{project_id}/approve", json={}, headers=technician)
    blank = await client.post(
        f"{LAB}/projects/{other_id}/reject", json={"reason": "  "}, headers=technician
    )
    rejected = await client.post(
        f"{LAB}/projects/{other_id}/reject", json={"reason": "No advisor"}, headers=technician
    )

    assert again.status_code == 409
    assert again.json() == {
        "detail": "project is active; only pending projects can be approved",
        "error": "invalid_transition",
    }
    assert (blank.status_code, blank.json()["error"]) == (400, "reason_required")
    assert (ok(rejected)["status"], rejected.json()["decision_note"]) == ("rejected", "No advisor")


async def test_an_item_reserved_for_one_project_is_refused_to_another_with_until(
    client: httpx.AsyncClient, linked_member: LinkedMember, technician: Headers, admin: Headers
) -> None:
    _, grace = await linked_member("Grace Hopper")
    _, alan = await linked_member("Alan Turing")
    tid = await _item(client, admin)
    first = ok(await _request(client, grace, await _project(client, grace, technician), tid), 201)
    ok(await client.post(f"{LAB}/requests/{first['id']}/approve", json={}, headers=technician))

    overlapping = await _request(
        client, alan, await _project(client, alan, technician), tid, **_period(start=2 * HOUR)
    )

    assert overlapping.status_code == 409
    assert overlapping.json() | {"detail": ""} == {
        "detail": "",
        "error": "item_reserved",
        "until": rfc3339(T0 + 4 * HOUR),
    }


async def test_availability_shows_the_reserved_period_and_that_it_is_not_free(
    client: httpx.AsyncClient, linked_member: LinkedMember, technician: Headers, admin: Headers
) -> None:
    _, grace = await linked_member("Grace Hopper")
    tid = await _item(client, admin)
    made = ok(await _request(client, grace, await _project(client, grace, technician), tid), 201)
    ok(await client.post(f"{LAB}/requests/{made['id']}/approve", json={}, headers=technician))
    url = f"/api/v1/me/rental-items/{tid}/availability"

    busy = ok(await client.get(url, params=_period(hours=8), headers=grace))
    later = ok(await client.get(url, params=_period(start=5 * HOUR), headers=grace))
    backwards = await client.get(
        url, params={"starts_at": rfc3339(T0), "ends_at": rfc3339(T0 - HOUR)}, headers=grace
    )
    naive = await client.get(
        url, params={"starts_at": "2026-11-21T09:00", "ends_at": "2026-11-21T10:00"}, headers=grace
    )

    assert (busy["free"], busy["reserved"]) == (
        False,
        [{"starts_at": rfc3339(T0), "ends_at": rfc3339(T0 + 4 * HOUR), "status": "approved"}],
    )
    assert (later["free"], later["reserved"]) == (True, [])
    assert (backwards.status_code, backwards.json()["error"]) == (400, "invalid_period")
    assert naive.status_code == 422


async def test_the_requester_cancels_an_approved_request_once(
    client: httpx.AsyncClient, linked_member: LinkedMember, technician: Headers, admin: Headers
) -> None:
    _, grace = await linked_member("Grace Hopper")
    made = ok(
        await _request(
            client, grace, await _project(client, grace, technician), await _item(client, admin)
        ),
        201,
    )
    ok(await client.post(f"{LAB}/requests/{made['id']}/approve", json={}, headers=technician))

    cancelled = await client.post(
        f"{REQUESTS}/{made['id']}/cancel", json={"note": "not needed"}, headers=grace
    )
    again = await client.post(f"{REQUESTS}/{made['id']}/cancel", json={}, headers=grace)
    listed = ok(await client.get(REQUESTS, headers=grace))

    assert ok(cancelled)["status"] == "cancelled"
    assert (again.status_code, again.json()["error"]) == (409, "invalid_transition")
    assert [(r["id"], r["status"]) for r in listed["items"]] == [(made["id"], "cancelled")]


async def test_a_leader_adds_a_member_by_e_mail_who_cannot_manage_the_project(
    client: httpx.AsyncClient, linked_member: LinkedMember, committed_db: AsyncSession
) -> None:
    _, grace = await linked_member("Grace Hopper")
    alan_id, alan = await linked_member("Alan Turing")
    email = f"{unique_slug('alan')}@example.org"
    await members.set_contact(
        committed_db, alan_id, name="Alan Turing", email=email, actor=TESTER, now=T0
    )
    await committed_db.commit()
    project_id = await _project(client, grace)
    grace_id = ok(await client.get(f"{PROJECTS}/{project_id}", headers=grace))["members"][0][
        "member_id"
    ]

    added = await client.post(
        f"{PROJECTS}/{project_id}/members",
        json={"email": email.upper(), "role": "advisor"},
        headers=grace,
    )
    unknown = await client.post(
        f"{PROJECTS}/{project_id}/members", json={"email": "nobody@example.org"}, headers=grace
    )
    by_alan = await client.delete(f"{PROJECTS}/{project_id}/members/{grace_id}", headers=alan)
    leader_out = await client.delete(f"{PROJECTS}/{project_id}/members/{grace_id}", headers=grace)

    assert [(m["name"], m["role"]) for m in ok(added, 201)["members"]] == [
        ("Grace Hopper", "leader"),
        ("Alan Turing", "advisor"),
    ]
    assert (unknown.status_code, unknown.json()["error"]) == (404, "not_found")
    assert (by_alan.status_code, by_alan.json()["error"]) == (403, "not_authorized")
    assert (leader_out.status_code, leader_out.json()["error"]) == (409, "leader_required")


async def test_both_sides_get_their_notifications_and_mark_them_read(
    client: httpx.AsyncClient, linked_member: LinkedMember, technician: Headers, admin: Headers
) -> None:
    _, grace = await linked_member("Grace Hopper")
    project_id = await _project(client, grace, technician)
    made = ok(await _request(client, grace, project_id, await _item(client, admin)), 201)

    lab_inbox = ok(
        await client.get(f"{LAB}/notifications", params={"unread": "true"}, headers=technician)
    )
    mine = ok(await client.get("/api/v1/me/notifications", headers=grace))
    [submitted] = [n for n in lab_inbox["items"] if n["data"].get("request_id") == made["id"]]
    marked = ok(
        await client.post(
            "/api/v1/me/notifications/read", json={"ids": [mine["items"][0]["id"]]}, headers=grace
        )
    )
    lab_marked = ok(
        await client.post(
            f"{LAB}/notifications/read", json={"ids": [submitted["id"]]}, headers=technician
        )
    )
    not_theirs = ok(
        await client.post(
            "/api/v1/me/notifications/read", json={"ids": [submitted["id"]]}, headers=grace
        )
    )

    assert (submitted["kind"], submitted["link"]) == (
        "request_submitted",
        f"/lab/requests/{made['id']}",
    )
    assert [(n["kind"], n["link"]) for n in mine["items"]] == [
        ("project_approved", f"/me/projects/{project_id}")
    ]
    assert (mine["unread_count"], marked) == (1, {"marked": 1, "unread_count": 0})
    assert lab_marked["marked"] == 1
    assert not_theirs == {"marked": 0, "unread_count": 0}
    assert (await client.get(f"{LAB}/notifications", headers=grace)).status_code == 403
