"""Rental items, permissions, renting and returning on a real database."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import rentals
from core.audit import Actor
from core.clock import FrozenClock
from core.devices import DeviceRef
from core.errors import (
    CardBlocked,
    Conflict,
    ItemNotRented,
    ItemRented,
    NotAuthorized,
    NotFound,
    UnknownCard,
    UnknownItem,
)
from core.formats import DeviceKind
from core.members import NewMember
from core.models import Card, Rental, RentalItem, RentalPermission
from tests.factories import T0, TESTER, make_device, make_member, unique_tid


async def make_item(
    db: AsyncSession, *, name: str = "Cordless drill", description: str | None = None
) -> str:
    item = await rentals.add_item(
        db, tid=unique_tid(), name=name, description=description, now=T0, actor=TESTER
    )
    return item.tid


async def make_station(db: AsyncSession) -> DeviceRef:
    return await make_device(db, kind=DeviceKind.RENTAL)


async def make_renter(db: AsyncSession, *, name: str = "Ada Lovelace") -> NewMember:
    member = await make_member(db, name=name)
    await rentals.permit(db, member.member_id, actor=TESTER, now=T0)
    return member


async def rent(
    db: AsyncSession, station: DeviceRef, member: NewMember, tid: str, clock: FrozenClock
) -> rentals.Rented:
    assert member.card_uid is not None
    return await rentals.rent(
        db, device_id=station.id, card_uid=member.card_uid, tid=tid, now=clock.now()
    )


async def open_rentals(db: AsyncSession, tid: str) -> list[tuple[int, int]]:
    """(rental id, member id) of the item's open rentals."""
    rows = await db.execute(
        select(Rental.id, Rental.member_id)
        .join(RentalItem, RentalItem.id == Rental.item_id)
        .where(RentalItem.tid == tid, Rental.returned_at.is_(None))
    )
    return [(rental_id, member_id) for rental_id, member_id in rows.all()]


async def test_rent_with_permission_opens_a_rental_at_the_station(
    db: AsyncSession, clock: FrozenClock
) -> None:
    station, member = await make_station(db), await make_renter(db)
    tid = await make_item(db, name="Cordless drill")

    rented = await rent(db, station, member, tid, clock)

    assert (rented.tid, rented.name, rented.since) == (tid, "Cordless drill", T0)
    row = await db.get(Rental, rented.rental_id)
    assert row is not None
    assert (row.member_id, row.device_id, row.returned_at) == (member.member_id, station.id, None)


async def test_rent_without_permission_is_not_authorized(
    db: AsyncSession, clock: FrozenClock
) -> None:
    station, member, tid = await make_station(db), await make_member(db), await make_item(db)

    with pytest.raises(NotAuthorized):
        await rent(db, station, member, tid, clock)

    assert await open_rentals(db, tid) == []


async def test_rent_unknown_tid_is_unknown_item(db: AsyncSession, clock: FrozenClock) -> None:
    station, member = await make_station(db), await make_renter(db)

    with pytest.raises(UnknownItem):
        await rent(db, station, member, unique_tid(), clock)


async def test_rent_inactive_item_is_unknown_item(db: AsyncSession, clock: FrozenClock) -> None:
    station, member, tid = await make_station(db), await make_renter(db), await make_item(db)
    await rentals.deactivate(db, tid, actor=TESTER, now=T0)

    with pytest.raises(UnknownItem):
        await rent(db, station, member, tid, clock)


async def test_rent_with_unknown_card_is_unknown_card(db: AsyncSession) -> None:
    station, tid = await make_station(db), await make_item(db)

    with pytest.raises(UnknownCard):
        await rentals.rent(db, device_id=station.id, card_uid="04FFFFFF", tid=tid, now=T0)


async def test_rent_with_blocked_card_is_card_blocked(db: AsyncSession, clock: FrozenClock) -> None:
    station, member, tid = await make_station(db), await make_renter(db), await make_item(db)
    await db.execute(update(Card).where(Card.uid == member.card_uid).values(blocked=True))

    with pytest.raises(CardBlocked):
        await rent(db, station, member, tid, clock)


async def test_rent_item_that_is_out_is_item_rented_with_since(
    db: AsyncSession, clock: FrozenClock
) -> None:
    station, tid = await make_station(db), await make_item(db)
    first, second = await make_renter(db), await make_renter(db, name="Grace Hopper")
    rented = await rent(db, station, first, tid, clock)
    clock.advance(timedelta(minutes=5))

    with pytest.raises(ItemRented) as refused:
        await rent(db, station, second, tid, clock)

    assert refused.value.fields == {"since": "2026-11-21T09:00:00Z"}
    assert await open_rentals(db, tid) == [(rented.rental_id, first.member_id)]


async def test_return_at_another_station_closes_the_rental_with_its_duration(
    db: AsyncSession, clock: FrozenClock
) -> None:
    lender, taker = await make_station(db), await make_station(db)
    member, tid = await make_renter(db), await make_item(db, name="Soldering iron")
    rented = await rent(db, lender, member, tid, clock)
    clock.advance(timedelta(minutes=90, seconds=7))

    returned = await rentals.return_item(db, device_id=taker.id, tid=tid, now=clock.now())

    assert (returned.rental_id, returned.duration_s, returned.name) == (
        rented.rental_id,
        5407,
        "Soldering iron",
    )
    row = await db.get(Rental, rented.rental_id)
    assert row is not None
    assert (row.returned_at, row.device_id, row.return_device_id) == (
        clock.now(),
        lender.id,
        taker.id,
    )


async def test_return_item_that_is_in_is_item_not_rented(db: AsyncSession) -> None:
    station, tid = await make_station(db), await make_item(db)

    with pytest.raises(ItemNotRented):
        await rentals.return_item(db, device_id=station.id, tid=tid, now=T0)


async def test_return_twice_second_is_item_not_rented(db: AsyncSession, clock: FrozenClock) -> None:
    station, member, tid = await make_station(db), await make_renter(db), await make_item(db)
    await rent(db, station, member, tid, clock)
    await rentals.return_item(db, device_id=station.id, tid=tid, now=T0)

    with pytest.raises(ItemNotRented):
        await rentals.return_item(db, device_id=station.id, tid=tid, now=T0)


async def test_return_unknown_tid_is_unknown_item(db: AsyncSession) -> None:
    station = await make_station(db)

    with pytest.raises(UnknownItem):
        await rentals.return_item(db, device_id=station.id, tid=unique_tid(), now=T0)


async def test_rent_after_return_opens_a_new_rental(db: AsyncSession, clock: FrozenClock) -> None:
    station, tid = await make_station(db), await make_item(db)
    first, second = await make_renter(db), await make_renter(db, name="Grace Hopper")
    earlier = await rent(db, station, first, tid, clock)
    await rentals.return_item(db, device_id=station.id, tid=tid, now=clock.now())

    later = await rent(db, station, second, tid, clock)

    assert later.rental_id != earlier.rental_id
    assert await open_rentals(db, tid) == [(later.rental_id, second.member_id)]


async def test_status_of_an_item_that_is_in_is_not_out(db: AsyncSession) -> None:
    tid = await make_item(db, name="Multimeter", description="Fluke 87V, shelf B")

    item = await rentals.status(db, tid)

    assert (item.name, item.description, item.out, item.since, item.rental_id) == (
        "Multimeter",
        "Fluke 87V, shelf B",
        False,
        None,
        None,
    )


async def test_status_of_an_item_that_is_out_says_since_when(
    db: AsyncSession, clock: FrozenClock
) -> None:
    station, member, tid = await make_station(db), await make_renter(db), await make_item(db)
    rented = await rent(db, station, member, tid, clock)

    item = await rentals.status(db, tid)

    assert (item.out, item.since, item.rental_id) == (True, T0, rented.rental_id)


async def test_status_of_an_unknown_tid_is_unknown_item(db: AsyncSession) -> None:
    with pytest.raises(UnknownItem):
        await rentals.status(db, unique_tid())


async def test_status_of_an_inactive_item_that_is_in_is_unknown_item(db: AsyncSession) -> None:
    tid = await make_item(db)
    await rentals.deactivate(db, tid, actor=TESTER, now=T0)

    with pytest.raises(UnknownItem):
        await rentals.status(db, tid)


async def test_status_of_an_inactive_item_that_is_out_shows_it_out(
    db: AsyncSession, clock: FrozenClock
) -> None:
    station, member, tid = await make_station(db), await make_renter(db), await make_item(db)
    await rent(db, station, member, tid, clock)
    await rentals.deactivate(db, tid, actor=TESTER, now=T0)

    item = await rentals.status(db, tid)

    assert (item.active, item.out) == (False, True)


async def test_return_of_an_inactive_item_that_is_out_is_accepted(
    db: AsyncSession, clock: FrozenClock
) -> None:
    station, member, tid = await make_station(db), await make_renter(db), await make_item(db)
    rented = await rent(db, station, member, tid, clock)
    await rentals.deactivate(db, tid, actor=TESTER, now=T0)

    returned = await rentals.return_item(db, device_id=station.id, tid=tid, now=T0)

    assert returned.rental_id == rented.rental_id


async def test_add_item_stores_the_tid_upper_case(db: AsyncSession) -> None:
    lower = "e280" + secrets.token_hex(10)

    added = await rentals.add_item(
        db, tid=lower, name="Jigsaw", description=None, now=T0, actor=TESTER
    )

    assert added.tid == lower.upper()
    assert await db.scalar(select(RentalItem.name).where(RentalItem.tid == lower.upper()))


async def test_add_item_with_a_registered_tid_is_conflict(db: AsyncSession) -> None:
    tid = await make_item(db)

    with pytest.raises(Conflict):
        await rentals.add_item(
            db, tid=tid.lower(), name="Another", description=None, now=T0, actor=TESTER
        )


@pytest.mark.parametrize("raw", ["E280116", "E28011606G", "E2:80:11:60", "A" * 65, ""])
def test_normalize_tid_with_malformed_input_raises(raw: str) -> None:
    with pytest.raises(ValueError, match="TID"):
        rentals.normalize_tid(raw)


def test_normalize_tid_upper_cases_hex() -> None:
    assert rentals.normalize_tid(" e2801160 ") == "E2801160"


async def test_deactivate_unknown_tid_is_unknown_item(db: AsyncSession) -> None:
    with pytest.raises(UnknownItem):
        await rentals.deactivate(db, unique_tid(), actor=TESTER, now=T0)


async def test_permit_twice_keeps_one_permission(db: AsyncSession) -> None:
    member = await make_renter(db)

    again = Actor.person("again")
    await rentals.permit(db, member.member_id, actor=again, now=T0 + timedelta(days=1))

    rows = await db.execute(
        select(RentalPermission.granted_by).where(RentalPermission.member_id == member.member_id)
    )
    assert rows.scalars().all() == ["again"]


async def test_permit_unknown_member_is_not_found(db: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await rentals.permit(db, 999_999_999, actor=TESTER, now=T0)


async def test_revoke_stops_the_member_renting(db: AsyncSession, clock: FrozenClock) -> None:
    station, member, tid = await make_station(db), await make_renter(db), await make_item(db)

    had = await rentals.revoke(db, member.member_id, actor=TESTER, now=T0)

    assert had
    with pytest.raises(NotAuthorized):
        await rent(db, station, member, tid, clock)


async def test_revoke_without_a_permission_reports_none(db: AsyncSession) -> None:
    member = await make_member(db)

    assert not await rentals.revoke(db, member.member_id, actor=TESTER, now=T0)


async def test_listing_shows_who_has_an_item_since_when(
    db: AsyncSession, clock: FrozenClock
) -> None:
    station, tid = await make_station(db), await make_item(db)
    member = await make_renter(db, name="Grace Hopper")
    rented = await rent(db, station, member, tid, clock)

    listed = {entry.tid: entry for entry in await rentals.listing(db)}

    entry = listed[tid]
    assert (entry.member_id, entry.member_name, entry.since, entry.rental_id) == (
        member.member_id,
        "Grace Hopper",
        T0,
        rented.rental_id,
    )


async def test_listing_shows_nobody_for_an_item_that_is_in(db: AsyncSession) -> None:
    tid = await make_item(db)

    listed = {entry.tid: entry for entry in await rentals.listing(db)}

    assert (listed[tid].member_name, listed[tid].out) == (None, False)


async def test_rent_several_items_to_one_member_opens_a_rental_each(
    db: AsyncSession, clock: FrozenClock
) -> None:
    station, member = await make_station(db), await make_renter(db)
    tids = [await make_item(db) for _ in range(3)]

    for tid in tids:
        await rent(db, station, member, tid, clock)

    count = await db.scalar(
        select(func.count())
        .select_from(Rental)
        .where(Rental.member_id == member.member_id, Rental.returned_at.is_(None))
    )
    assert count == 3
