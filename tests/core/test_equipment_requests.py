"""Equipment requests: who may ask for what and when, the technicians' decisions, cancelling,
the sweep, and two overlapping requests that can never both be approved."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import equipment, project_members, rentals
from core.clock import SystemClock
from core.errors import (
    DomainError,
    InvalidPeriod,
    InvalidTransition,
    ItemRented,
    ItemReserved,
    NotAuthorized,
    ProjectNotActive,
    ReasonRequired,
    UnknownItem,
)
from core.models import EquipmentRequest
from tests.core.lending import (
    HOUR,
    as_member,
    make_item,
    make_project,
    make_request,
    newest_technician_notice,
    notices_of,
    technician,
    trail,
)
from tests.core.test_rentals import make_renter, make_station
from tests.factories import T0, TESTER, make_member

TEN_MINUTES = timedelta(minutes=10)


async def test_a_member_of_an_active_project_requests_an_item_by_its_tid(
    db: AsyncSession,
) -> None:
    grace = await make_member(db, name="Grace Hopper")
    project, item = await make_project(db, grace), await make_item(db, name="Cordless drill")

    made = await equipment.request(
        db,
        as_member(grace),
        project_id=project.id,
        item=item.tid.lower(),
        starts_at=T0 + HOUR,
        ends_at=T0 + 5 * HOUR,
        now=T0,
        note="for the gripper",
    )

    assert (made.status, made.item_name, made.requester_name, made.note) == (
        "pending",
        "Cordless drill",
        "Grace Hopper",
        "for the gripper",
    )
    assert await trail(db, "equipment_request", made.id) == [
        ("request", "None → pending", "Grace Hopper")
    ]
    assert await newest_technician_notice(db) == (
        "request_submitted",
        {
            "request_id": made.id,
            "project": "Robot arm",
            "item": "Cordless drill",
            "starts_at": "2026-11-21T10:00:00Z",
            "ends_at": "2026-11-21T14:00:00Z",
            "by": "Grace Hopper",
        },
    )


async def test_someone_outside_the_project_cannot_request_for_it(db: AsyncSession) -> None:
    project, item = await make_project(db), await make_item(db)
    outsider = await make_member(db)

    with pytest.raises(NotAuthorized):
        await equipment.request(
            db,
            as_member(outsider),
            project_id=project.id,
            item=item.item_id,
            starts_at=T0,
            ends_at=T0 + HOUR,
            now=T0,
        )


async def test_a_project_not_yet_approved_cannot_request(db: AsyncSession) -> None:
    project, item = await make_project(db, active=False), await make_item(db)

    with pytest.raises(ProjectNotActive, match="project is pending"):
        await make_request(db, project, item)


async def test_an_item_out_of_service_cannot_be_requested(db: AsyncSession) -> None:
    project, item = await make_project(db), await make_item(db)
    await rentals.deactivate(db, item.tid, actor=TESTER, now=T0)

    with pytest.raises(UnknownItem):
        await make_request(db, project, item)


@pytest.mark.parametrize(
    ("starts_in", "hours", "why"),
    [
        (HOUR, 0, "end after it starts"),
        (HOUR, 24 * 90 + 1, "at most 90 days"),
        (-timedelta(minutes=6), 1, "cannot start in the past"),
    ],
)
async def test_a_period_that_is_empty_too_long_or_past_is_refused(
    db: AsyncSession, starts_in: timedelta, hours: int, why: str
) -> None:
    project, item = await make_project(db), await make_item(db)

    with pytest.raises(InvalidPeriod, match=why):
        await make_request(db, project, item, starts_at=T0 + starts_in, hours=hours)


async def test_a_period_starting_a_few_minutes_ago_is_accepted(db: AsyncSession) -> None:
    project, item = await make_project(db), await make_item(db)

    made = await make_request(db, project, item, starts_at=T0 - timedelta(minutes=4))

    assert made.status == "pending"


async def test_an_item_reserved_for_an_overlapping_period_is_refused_with_until(
    db: AsyncSession,
) -> None:
    item = await make_item(db, name="Cordless drill")
    await make_request(db, await make_project(db), item, hours=4, approved=True)

    with pytest.raises(ItemReserved) as refused:
        await make_request(db, await make_project(db), item, starts_at=T0 + 3 * HOUR)

    assert refused.value.fields == {"until": "2026-11-21T13:00:00Z"}


async def test_a_period_right_after_a_reservation_is_free(db: AsyncSession) -> None:
    item = await make_item(db)
    await make_request(db, await make_project(db), item, hours=4, approved=True)

    made = await make_request(db, await make_project(db), item, starts_at=T0 + 4 * HOUR)

    assert made.status == "pending"


async def test_pending_requests_do_not_reserve(db: AsyncSession) -> None:
    item = await make_item(db)
    await make_request(db, await make_project(db), item)

    made = await make_request(db, await make_project(db), item)

    assert made.status == "pending"


async def test_an_item_out_now_is_refused_for_a_period_starting_within_the_hour(
    db: AsyncSession,
) -> None:
    item, renter, station = await make_item(db), await make_renter(db), await make_station(db)
    assert renter.card_uid is not None
    await rentals.rent(db, device_id=station.id, card_uid=renter.card_uid, tid=item.tid, now=T0)
    project = await make_project(db)

    with pytest.raises(ItemRented):
        await make_request(db, project, item, starts_at=T0 + timedelta(minutes=59))
    later = await make_request(db, project, item, starts_at=T0 + HOUR)

    assert later.status == "pending"


async def test_a_technician_approves_and_the_requester_hears_of_it(db: AsyncSession) -> None:
    grace = await make_member(db)
    made = await make_request(db, await make_project(db, grace), await make_item(db))
    ada = technician("Ada Lovelace")

    approved = await equipment.approve(db, ada, made.id, now=T0)

    assert (approved.status, approved.decided_by) == ("approved", ada.subject)
    assert (await trail(db, "equipment_request", made.id))[-1] == (
        "approve",
        "pending → approved",
        "Ada Lovelace",
    )
    assert (await notices_of(db, grace.member_id))[-1] == "request_approved"


async def test_a_member_cannot_approve_their_own_request(db: AsyncSession) -> None:
    grace = await make_member(db)
    made = await make_request(db, await make_project(db, grace), await make_item(db))

    with pytest.raises(NotAuthorized):
        await equipment.approve(db, as_member(grace), made.id, now=T0)


async def test_approving_a_request_that_overlaps_an_approved_one_is_refused(
    db: AsyncSession,
) -> None:
    item = await make_item(db)
    first = await make_request(db, await make_project(db), item, hours=4)
    second = await make_request(db, await make_project(db), item, starts_at=T0 + 2 * HOUR)
    await equipment.approve(db, technician(), first.id, now=T0)

    with pytest.raises(ItemReserved):
        await equipment.approve(db, technician(), second.id, now=T0)

    assert (await equipment.get(db, second.id)).status == "pending"


async def test_a_request_whose_period_is_over_cannot_be_approved(db: AsyncSession) -> None:
    made = await make_request(db, await make_project(db), await make_item(db), hours=2)

    with pytest.raises(InvalidPeriod, match="over"):
        await equipment.approve(db, technician(), made.id, now=T0 + 2 * HOUR)


async def test_a_rejected_request_is_kept_with_its_reason(db: AsyncSession) -> None:
    grace = await make_member(db)
    made = await make_request(db, await make_project(db, grace), await make_item(db))

    await equipment.reject(db, technician(), made.id, reason="Needed for a course", now=T0)

    kept = await equipment.get(db, made.id)
    assert (kept.status, kept.decision_note) == ("rejected", "Needed for a course")
    assert (await trail(db, "equipment_request", made.id))[-1][:2] == (
        "reject",
        "pending → rejected",
    )
    assert (await notices_of(db, grace.member_id))[-1] == "request_rejected"


async def test_a_rejection_needs_a_reason(db: AsyncSession) -> None:
    made = await make_request(db, await make_project(db), await make_item(db))

    with pytest.raises(ReasonRequired):
        await equipment.reject(db, technician(), made.id, reason=" ", now=T0)


async def test_a_rejected_request_cannot_be_approved(db: AsyncSession) -> None:
    made = await make_request(db, await make_project(db), await make_item(db))
    await equipment.reject(db, technician(), made.id, reason="No", now=T0)

    with pytest.raises(InvalidTransition, match="request is rejected; only pending requests"):
        await equipment.approve(db, technician(), made.id, now=T0)


async def test_the_requester_cancels_an_approved_request_and_the_item_is_free_again(
    db: AsyncSession,
) -> None:
    grace, item = await make_member(db, name="Grace"), await make_item(db)
    made = await make_request(db, await make_project(db, grace), item, approved=True)

    cancelled = await equipment.cancel(db, as_member(grace), made.id, now=T0)
    other = await make_request(db, await make_project(db), item)

    assert cancelled.status == "cancelled"
    assert (await trail(db, "equipment_request", made.id))[-1] == (
        "cancel",
        "approved → cancelled",
        "Grace",
    )
    assert other.status == "pending"


async def test_a_project_leader_cancels_a_members_request(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db)
    project, item = await make_project(db, grace), await make_item(db)
    await project_members.add_member(db, as_member(grace), project.id, alan.member_id, "member", T0)
    made = await equipment.request(
        db,
        as_member(alan),
        project_id=project.id,
        item=item.item_id,
        starts_at=T0,
        ends_at=T0 + HOUR,
        now=T0,
    )

    cancelled = await equipment.cancel(db, as_member(grace), made.id, now=T0)

    assert cancelled.status == "cancelled"


async def test_a_member_who_neither_asked_nor_leads_cannot_cancel(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db)
    project = await make_project(db, grace)
    await project_members.add_member(db, as_member(grace), project.id, alan.member_id, "member", T0)
    made = await make_request(db, project, await make_item(db))

    with pytest.raises(NotAuthorized):
        await equipment.cancel(db, as_member(alan), made.id, now=T0)


async def test_a_rejected_request_cannot_be_cancelled(db: AsyncSession) -> None:
    grace = await make_member(db)
    made = await make_request(db, await make_project(db, grace), await make_item(db))
    await equipment.reject(db, technician(), made.id, reason="No", now=T0)

    with pytest.raises(InvalidTransition, match="only pending or approved requests"):
        await equipment.cancel(db, as_member(grace), made.id, now=T0)


async def test_a_members_requests_are_those_of_their_projects(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db)
    project, item = await make_project(db, grace), await make_item(db)
    await project_members.add_member(db, as_member(grace), project.id, alan.member_id, "member", T0)
    made = await make_request(db, project, item)
    await make_request(db, await make_project(db), item)

    page = await equipment.of_member(db, alan.member_id, limit=10)

    assert [r.id for r in page.items] == [made.id]


# --- the sweep ---


async def test_the_sweep_makes_a_request_whose_item_is_out_past_its_end_overdue_once(
    db: AsyncSession,
) -> None:
    grace = await make_member(db)
    item = await make_item(db)
    made = await make_request(db, await make_project(db, grace), item, hours=2, approved=True)
    station = await make_station(db)
    assert grace.card_uid is not None
    await rentals.rent(db, device_id=station.id, card_uid=grace.card_uid, tid=item.tid, now=T0)

    first = await equipment.sweep(db, now=T0 + 2 * HOUR)
    again = await equipment.sweep(db, now=T0 + 3 * HOUR)

    assert (first.overdue, again.overdue) == (1, 0)
    assert (await equipment.get(db, made.id)).status == "overdue"
    assert (await trail(db, "equipment_request", made.id))[-1] == (
        "overdue",
        "checked_out → overdue",
        "system",
    )
    assert (await notices_of(db, grace.member_id))[-1] == "request_overdue"


@pytest.mark.parametrize(("approved", "why"), [(True, "taken out"), (False, "decided")])
async def test_a_request_that_ends_untaken_or_undecided_is_cancelled_by_the_sweep(
    db: AsyncSession, approved: bool, why: str
) -> None:
    grace = await make_member(db)
    made = await make_request(
        db, await make_project(db, grace), await make_item(db), hours=2, approved=approved
    )

    swept = await equipment.sweep(db, now=T0 + 2 * HOUR)

    view = await equipment.get(db, made.id)
    assert (swept.expired, swept.overdue, view.status) == (1, 0, "cancelled")
    assert why in (view.decision_note or "")
    assert (await trail(db, "equipment_request", made.id))[-1][1:] == (
        f"{'approved' if approved else 'pending'} → cancelled",
        "system",
    )
    assert (await notices_of(db, grace.member_id))[-1] == "request_expired"


async def test_the_sweep_reminds_once_of_an_item_due_back_within_a_day(db: AsyncSession) -> None:
    grace = await make_member(db)
    project, item = await make_project(db, grace), await make_item(db)
    made = await make_request(db, project, item, hours=48, approved=True)
    await db.execute(
        update(EquipmentRequest).where(EquipmentRequest.id == made.id).values(status="checked_out")
    )

    early = await equipment.sweep(db, now=T0 + 23 * HOUR)
    due = await equipment.sweep(db, now=T0 + 24 * HOUR)
    again = await equipment.sweep(db, now=T0 + 30 * HOUR)

    assert (early.reminded, due.reminded, again.reminded) == (0, 1, 0)
    assert (await equipment.get(db, made.id)).reminded_at == T0 + 24 * HOUR
    assert (await notices_of(db, grace.member_id)).count("request_due") == 1


# --- many technicians at once, on real connections ---


async def test_of_many_overlapping_requests_approved_at_once_exactly_one_is(
    committed_sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = SystemClock().now()
    async with committed_sessions() as db, db.begin():
        item = await make_item(db)
        # Each starts 10 minutes after the one before and lasts 3 hours: all overlap.
        requests = [
            await make_request(
                db, await make_project(db), item, starts_at=now + i * TEN_MINUTES, hours=3, now=now
            )
            for i in range(8)
        ]

    async def approve(request_id: int) -> str:
        try:
            async with committed_sessions() as db, db.begin():
                await equipment.approve(db, technician(), request_id, now=now)
        except DomainError as refused:
            return refused.code
        return "approved"

    outcomes = await asyncio.gather(*(approve(r.id) for r in requests))

    async with committed_sessions() as db:
        statuses = [(await equipment.get(db, r.id)).status for r in requests]
    assert sorted(outcomes) == ["approved"] + ["item_reserved"] * 7
    assert sorted(statuses) == ["approved"] + ["pending"] * 7
