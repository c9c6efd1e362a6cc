"""Reserved periods: when an item is free, and rental stations honouring reservations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import equipment, project_members, rentals, reservations
from core.devices import DeviceRef
from core.errors import ItemReserved, NotAuthorized
from core.members import NewMember
from tests.core.lending import (
    HOUR,
    as_member,
    make_item,
    make_project,
    make_request,
    trail,
)
from tests.core.test_rentals import make_renter, make_station
from tests.factories import T0, make_member


async def rent(
    db: AsyncSession, station: DeviceRef, member: NewMember, tid: str, *, at: timedelta
) -> rentals.Rented:
    assert member.card_uid is not None
    return await rentals.rent(
        db, device_id=station.id, card_uid=member.card_uid, tid=tid, now=T0 + at
    )


async def test_reservations_list_the_reserved_periods_overlapping_a_window(
    db: AsyncSession,
) -> None:
    item = await make_item(db)
    project = await make_project(db, name="Robot arm")
    early = await make_request(db, project, item, hours=2, approved=True)
    late = await make_request(db, project, item, starts_at=T0 + 5 * HOUR, hours=2, approved=True)
    await make_request(db, project, item, starts_at=T0 + 2 * HOUR, hours=2)  # pending

    listed = await reservations.reservations(db, item.item_id, T0 + HOUR, T0 + 6 * HOUR)

    assert [(r.request_id, r.project_name, r.status) for r in listed] == [
        (early.id, "Robot arm", "approved"),
        (late.id, "Robot arm", "approved"),
    ]


async def test_availability_says_a_window_between_reservations_is_free(db: AsyncSession) -> None:
    item = await make_item(db)
    await make_request(db, await make_project(db), item, hours=2, approved=True)

    between = await reservations.availability(db, item.tid, T0 + 2 * HOUR, T0 + 3 * HOUR, now=T0)
    across = await reservations.availability(db, item.item_id, T0 + HOUR, T0 + 3 * HOUR, now=T0)

    assert (between.free, between.reservations, between.out_since) == (True, [], None)
    assert (across.free, len(across.reservations)) == (False, 1)


async def test_availability_shows_an_item_that_is_out(db: AsyncSession) -> None:
    item, renter, station = await make_item(db), await make_renter(db), await make_station(db)
    await rent(db, station, renter, item.tid, at=timedelta(0))

    soon = await reservations.availability(db, item.tid, T0, T0 + HOUR, now=T0)

    assert (soon.free, soon.out_since) == (False, T0)


async def test_during_a_reservation_someone_outside_the_project_gets_item_reserved_until(
    db: AsyncSession,
) -> None:
    item, station = await make_item(db), await make_station(db)
    await make_request(db, await make_project(db), item, hours=4, approved=True)
    outsider = await make_renter(db)

    with pytest.raises(ItemReserved) as refused:
        await rent(db, station, outsider, item.tid, at=HOUR)

    assert refused.value.fields == {"until": "2026-11-21T13:00:00Z"}


async def test_outside_the_reserved_period_the_item_rents_as_usual(db: AsyncSession) -> None:
    item, station = await make_item(db), await make_station(db)
    await make_request(
        db, await make_project(db), item, starts_at=T0 + 2 * HOUR, hours=4, approved=True
    )
    renter = await make_renter(db)

    rented = await rent(db, station, renter, item.tid, at=timedelta(0))

    assert rented.tid == item.tid


async def test_a_project_member_rents_the_reserved_item_without_a_permission_and_checks_it_out(
    db: AsyncSession,
) -> None:
    grace, alan = await make_member(db, name="Grace"), await make_member(db, name="Alan")
    project, item, station = (
        await make_project(db, grace),
        await make_item(db),
        await make_station(db),
    )
    await project_members.add_member(db, as_member(grace), project.id, alan.member_id, "member", T0)
    made = await make_request(db, project, item, hours=4, approved=True)

    rented = await rent(db, station, alan, item.tid, at=HOUR)

    checked_out = await equipment.get(db, made.id)
    assert (checked_out.status, checked_out.rental_id) == ("checked_out", rented.rental_id)
    assert (await trail(db, "equipment_request", made.id))[-1] == (
        "check_out",
        "approved → checked_out",
        station.slug,
    )


async def test_a_project_member_without_a_permission_is_refused_outside_the_period(
    db: AsyncSession,
) -> None:
    grace, item, station = await make_member(db), await make_item(db), await make_station(db)
    await make_request(db, await make_project(db, grace), item, hours=4, approved=True)

    with pytest.raises(NotAuthorized):
        await rent(db, station, grace, item.tid, at=5 * HOUR)


async def test_a_pending_request_reserves_nothing_at_the_station(db: AsyncSession) -> None:
    item, station = await make_item(db), await make_station(db)
    await make_request(db, await make_project(db), item, hours=4)
    renter = await make_renter(db)

    rented = await rent(db, station, renter, item.tid, at=HOUR)

    assert rented.tid == item.tid


async def test_returning_at_another_station_marks_the_request_returned(db: AsyncSession) -> None:
    grace, item = await make_member(db), await make_item(db)
    lender, taker = await make_station(db), await make_station(db)
    made = await make_request(db, await make_project(db, grace), item, hours=4, approved=True)
    await rent(db, lender, grace, item.tid, at=HOUR)

    await rentals.return_item(db, device_id=taker.id, tid=item.tid, now=T0 + 2 * HOUR)

    assert (await equipment.get(db, made.id)).status == "returned"
    assert (await trail(db, "equipment_request", made.id))[-1] == (
        "return",
        "checked_out → returned",
        taker.slug,
    )


async def test_an_overdue_item_brought_back_is_returned(db: AsyncSession) -> None:
    grace, item, station = await make_member(db), await make_item(db), await make_station(db)
    made = await make_request(db, await make_project(db, grace), item, hours=4, approved=True)
    await rent(db, station, grace, item.tid, at=HOUR)
    await equipment.sweep(db, now=T0 + 5 * HOUR)

    await rentals.return_item(db, device_id=station.id, tid=item.tid, now=T0 + 6 * HOUR)

    assert [step[:2] for step in await trail(db, "equipment_request", made.id)][-3:] == [
        ("check_out", "approved → checked_out"),
        ("overdue", "checked_out → overdue"),
        ("return", "overdue → returned"),
    ]


async def test_returning_an_item_rented_without_a_request_touches_no_request(
    db: AsyncSession,
) -> None:
    item, station, renter = await make_item(db), await make_station(db), await make_renter(db)
    made = await make_request(
        db, await make_project(db), item, starts_at=T0 + 3 * HOUR, hours=4, approved=True
    )
    await rent(db, station, renter, item.tid, at=timedelta(0))

    await rentals.return_item(db, device_id=station.id, tid=item.tid, now=T0 + HOUR)

    assert (await equipment.get(db, made.id)).status == "approved"
