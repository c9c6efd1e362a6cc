"""In-app notifications over HTTP: a member's own (`/api/v1/me/notifications`) and the lab
technicians' shared inbox (`/api/v1/lab/notifications`: one marking a notice read marks it for
all of them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ClockDep, MemberDep
from api.deps import DbDep
from api.fields import Paging, PagingDep
from api.lending import Marked, NotificationPage, ReadMarks, lab_router, members_router
from core import notifications
from core.clock import Clock

mine = members_router("/notifications", "notifications")
lab = lab_router("/notifications", "notifications")
UnreadOnly = Annotated[bool, Query(alias="unread", description="true: only the unread ones.")]


async def _page(
    db: AsyncSession, paging: Paging, unread_only: bool, *, member_id: int | None = None
) -> NotificationPage:
    """A page of the member's inbox, or (no member) the technicians'."""
    technicians = member_id is None
    page = await notifications.listing(
        db,
        member_id=member_id,
        technicians=technicians,
        limit=paging.limit,
        before_id=paging.before_id,
        unread_only=unread_only,
    )
    unread = await notifications.unread_count(db, member_id=member_id, technicians=technicians)
    return NotificationPage.model_validate(
        {"items": page.items, "next_before_id": page.next_before_id, "unread_count": unread}
    )


async def _mark(
    db: AsyncSession, body: ReadMarks, clock: Clock, *, member_id: int | None = None
) -> Marked:
    technicians = member_id is None
    marked = await notifications.mark_read(
        db, body.ids, member_id=member_id, technicians=technicians, now=clock.now()
    )
    unread = await notifications.unread_count(db, member_id=member_id, technicians=technicians)
    return Marked(marked=marked, unread_count=unread)


@mine.get("")
async def my_notifications(
    member_id: MemberDep, db: DbDep, paging: PagingDep, unread_only: UnreadOnly = False
) -> NotificationPage:
    """Your notifications, newest first, with how many are unread."""
    return await _page(db, paging, unread_only, member_id=member_id)


@mine.post("/read")
async def mark_mine_read(
    body: ReadMarks, member_id: MemberDep, db: DbDep, clock: ClockDep
) -> Marked:
    """Mark notifications of yours read (ids of others are left alone)."""
    return await _mark(db, body, clock, member_id=member_id)


@lab.get("")
async def lab_notifications(
    db: DbDep, paging: PagingDep, unread_only: UnreadOnly = False
) -> NotificationPage:
    """The technicians' inbox (new projects and requests), newest first."""
    return await _page(db, paging, unread_only)


@lab.post("/read")
async def mark_lab_read(body: ReadMarks, db: DbDep, clock: ClockDep) -> Marked:
    """Mark notices of the technicians' inbox read, for all of them."""
    return await _mark(db, body, clock)
