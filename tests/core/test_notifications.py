"""Notifications: each member's own inbox and the technicians' shared one, read a page at a
time, marked read only by their own readers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import notifications
from core.notifications import Kind
from tests.factories import T0, make_member


async def test_a_members_notice_keeps_its_data_for_the_page_to_word(db: AsyncSession) -> None:
    grace = await make_member(db)

    await notifications.notify_member(
        db,
        grace.member_id,
        Kind.REQUEST_APPROVED,
        {"item": "Cordless drill", "ends_at": "2026-11-21T13:00:00Z"},
        "/me/requests/4",
        T0,
    )

    page = await notifications.listing(db, member_id=grace.member_id, limit=10)
    [notice] = page.items
    assert (notice.kind, notice.data, notice.link, notice.unread) == (
        "request_approved",
        {"item": "Cordless drill", "ends_at": "2026-11-21T13:00:00Z"},
        "/me/requests/4",
        True,
    )


async def test_the_inbox_comes_newest_first_a_page_at_a_time(db: AsyncSession) -> None:
    grace = await make_member(db)
    for minute in range(3):
        await notifications.notify_member(
            db,
            grace.member_id,
            Kind.REQUEST_DUE,
            {"n": minute},
            None,
            T0 + timedelta(minutes=minute),
        )

    first = await notifications.listing(db, member_id=grace.member_id, limit=2)
    rest = await notifications.listing(
        db, member_id=grace.member_id, limit=2, before_id=first.next_before_id
    )

    assert [n.data["n"] for n in first.items + rest.items] == [2, 1, 0]
    assert rest.next_before_id is None


async def test_unread_counts_are_per_inbox(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db)
    before = await notifications.unread_count(db, technicians=True)
    await notifications.notify_member(db, grace.member_id, Kind.PROJECT_APPROVED, {}, None, T0)
    await notifications.notify_technicians(db, Kind.PROJECT_SUBMITTED, {}, None, T0)

    counts = (
        await notifications.unread_count(db, member_id=grace.member_id),
        await notifications.unread_count(db, member_id=alan.member_id),
        await notifications.unread_count(db, technicians=True) - before,
    )

    assert counts == (1, 0, 1)


async def test_marking_read_touches_only_the_readers_own_notices(db: AsyncSession) -> None:
    grace, alan = await make_member(db), await make_member(db)
    mine = await notifications.notify_member(db, grace.member_id, Kind.REQUEST_DUE, {}, None, T0)
    theirs = await notifications.notify_member(db, alan.member_id, Kind.REQUEST_DUE, {}, None, T0)
    shared = await notifications.notify_technicians(db, Kind.REQUEST_SUBMITTED, {}, None, T0)

    marked = await notifications.mark_read(
        db, [mine, theirs, shared], member_id=grace.member_id, now=T0
    )

    assert marked == 1
    assert await notifications.unread_count(db, member_id=grace.member_id) == 0
    assert await notifications.unread_count(db, member_id=alan.member_id) == 1
    [technicians] = (await notifications.listing(db, technicians=True, limit=1)).items
    assert (technicians.id, technicians.unread) == (shared, True)


async def test_one_technician_reading_a_notice_reads_it_for_all(db: AsyncSession) -> None:
    shared = await notifications.notify_technicians(db, Kind.REQUEST_SUBMITTED, {}, None, T0)

    await notifications.mark_read(db, [shared], technicians=True, now=T0)

    unread = await notifications.listing(db, technicians=True, limit=50, unread_only=True)
    assert shared not in [n.id for n in unread.items]


async def test_an_inbox_is_a_members_or_the_technicians_never_both(db: AsyncSession) -> None:
    grace = await make_member(db)

    with pytest.raises(ValueError, match="not both"):
        await notifications.unread_count(db, member_id=grace.member_id, technicians=True)
    with pytest.raises(ValueError, match="not both"):
        await notifications.unread_count(db)
