"""Rental stations honour reservations, over the real broker with the reference station:
outsiders are refused with `item_reserved` and `until`, a project member checks the item out,
another station takes it back, and the handler service's sweep finds what is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from core import equipment, projects
from core.clock import FrozenClock, SystemClock, rfc3339
from core.db import async_session_factory, make_async_engine
from core.formats import DeviceKind
from core.members import NewMember
from core.models import AuditEvent
from core.projects import Acting
from handlers import jobs
from makerbus.context import database
from tests.e2e.stack import Stack, run_async
from tests.e2e.test_identify import assert_matches_schema
from tests.e2e.test_rental_program import add_item, permitted_member, station

HOURS = timedelta(hours=4)
ADA = Acting(member_id=None, subject="ada-technician", name="Ada", is_technician=True)


@dataclass(frozen=True)
class Reserved:
    request_id: int
    tid: str
    ends_at: datetime


def reserve(stack: Stack, member: NewMember, tid: str) -> Reserved:
    """A project led by `member`, approved, with the item reserved from now for four hours."""
    now = SystemClock().now()
    grace = Acting(member_id=member.member_id, subject=f"sub-{member.member_id}", name=member.name)

    async def go() -> Reserved:
        async with database(stack.settings) as db:
            project = await projects.create(db, grace, name="Robot arm", description=None, now=now)
            await projects.approve(db, ADA, project.id, now=now)
            made = await equipment.request(
                db,
                grace,
                project_id=project.id,
                item=tid,
                starts_at=now,
                ends_at=now + HOURS,
                now=now,
            )
            await equipment.approve(db, ADA, made.id, now=now)
            return Reserved(made.id, tid, made.ends_at)

    return run_async(go())


def request_status(stack: Stack, request_id: int) -> str:
    async def go() -> str:
        async with database(stack.settings) as db:
            return (await equipment.get(db, request_id)).status

    return run_async(go())


def who_moved(stack: Stack, request_id: int) -> list[tuple[str, str | None, str | None]]:
    """(action, actor kind, actor id) of the request's audit rows, oldest first."""

    async def go() -> list[tuple[str, str | None, str | None]]:
        async with database(stack.settings) as db:
            rows = await db.execute(
                select(AuditEvent.action, AuditEvent.actor_kind, AuditEvent.actor_id)
                .where(
                    AuditEvent.entity == "equipment_request",
                    AuditEvent.entity_id == str(request_id),
                )
                .order_by(AuditEvent.id)
            )
            return [(action, kind, actor) for action, kind, actor in rows.all()]

    return run_async(go())


def test_someone_outside_the_project_is_refused_with_until(stack: Stack) -> None:
    tid = add_item(stack)
    reserved = reserve(stack, stack.add_member(name="Grace Hopper"), tid)
    outsider = permitted_member(stack)
    device = stack.device(stack.provision(DeviceKind.RENTAL))

    refused = device.request("rental/rent", card=outsider.card_uid, tid=tid)

    assert (refused.ok, refused.error, refused["until"]) == (
        False,
        "item_reserved",
        rfc3339(reserved.ends_at),
    )
    assert_matches_schema("rental.rent.answer.schema.json", refused.raw)


def test_the_reference_station_shows_until_when_the_item_is_reserved(stack: Stack) -> None:
    tid = add_item(stack)
    reserved = reserve(stack, stack.add_member(name="Grace Hopper"), tid)
    front_desk = station(stack)
    front_desk.see(tid)

    front_desk.tap(permitted_member(stack))

    until = rfc3339(reserved.ends_at)
    assert front_desk.shown[-1] == (
        f"Cordless drill not rented: reserved for a project until {until[:10]} {until[11:16]} UTC"
    )


def test_a_member_checks_the_reserved_item_out_and_returns_it_at_another_station(
    stack: Stack,
) -> None:
    tid = add_item(stack)
    grace = stack.add_member(name="Grace Hopper")  # no rental permission of her own
    reserved = reserve(stack, grace, tid)
    front_desk, workshop = station(stack), station(stack)

    front_desk.see(tid)
    front_desk.tap(grace)
    out = request_status(stack, reserved.request_id)
    workshop.see(tid)

    assert front_desk.shown[-1] == "Cordless drill is yours: bring it back to any station"
    assert (out, request_status(stack, reserved.request_id)) == ("checked_out", "returned")
    kinds = [(action, kind) for action, kind, _ in who_moved(stack, reserved.request_id)]
    assert kinds == [
        ("request", "person"),
        ("approve", "person"),
        ("check_out", "device"),
        ("return", "device"),
    ]


def test_the_sweep_job_makes_a_checked_out_request_past_its_end_overdue(stack: Stack) -> None:
    tid = add_item(stack)
    grace = stack.add_member(name="Grace Hopper")
    reserved = reserve(stack, grace, tid)
    front_desk = station(stack)
    front_desk.see(tid)
    front_desk.tap(grace)
    late = FrozenClock(reserved.ends_at + timedelta(minutes=1))

    async def sweep() -> equipment.Swept:
        engine = make_async_engine(stack.settings.database_url, pool_size=1)
        try:
            return await jobs.sweep_requests(async_session_factory(engine), late)
        finally:
            await engine.dispose()

    swept = run_async(sweep())

    assert swept.overdue >= 1
    assert request_status(stack, reserved.request_id) == "overdue"
    assert who_moved(stack, reserved.request_id)[-1] == ("overdue", "system", None)
