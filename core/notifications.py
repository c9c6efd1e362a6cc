"""In-app notifications: each member's own, and the technicians' shared inbox.

A notification holds what its text is made of (`data`: names, ids, RFC 3339 times) as JSON, and
the page words it in the reader's language; so `data` never holds anything the reader may not
see. The technicians' inbox is one for all of them: one marking a notice read marks it for all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import run
from core.models import Notification
from core.paging import Page, by_id, fetch_page, newest_first

JsonValue = str | int | float | bool | None
MEMBER = "member"
TECHNICIANS = "technicians"


class Kind(StrEnum):
    PROJECT_SUBMITTED = "project_submitted"
    PROJECT_APPROVED = "project_approved"
    PROJECT_REJECTED = "project_rejected"
    REQUEST_SUBMITTED = "request_submitted"
    REQUEST_APPROVED = "request_approved"
    REQUEST_REJECTED = "request_rejected"
    REQUEST_DUE = "request_due"
    REQUEST_OVERDUE = "request_overdue"
    REQUEST_EXPIRED = "request_expired"


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    data: dict[str, JsonValue]
    link: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


async def _add(
    db: AsyncSession,
    *,
    audience: str,
    member_id: int | None,
    kind: Kind,
    data: Mapping[str, JsonValue],
    link: str | None,
    now: datetime,
) -> int:
    inserted = await run(
        db,
        insert(Notification)
        .values(
            audience=audience,
            member_id=member_id,
            kind=kind.value,
            data=json.dumps(dict(data), ensure_ascii=False, sort_keys=True),
            link=link,
            created_at=now,
        )
        .returning(Notification.id),
    )
    return int(inserted.scalar_one())


async def notify_member(
    db: AsyncSession,
    member_id: int,
    kind: Kind,
    data: Mapping[str, JsonValue],
    link: str | None,
    now: datetime,
) -> int:
    """Leave a notice for one member; its id."""
    return await _add(
        db, audience=MEMBER, member_id=member_id, kind=kind, data=data, link=link, now=now
    )


async def notify_technicians(
    db: AsyncSession, kind: Kind, data: Mapping[str, JsonValue], link: str | None, now: datetime
) -> int:
    """Leave a notice in the technicians' shared inbox; its id."""
    return await _add(
        db, audience=TECHNICIANS, member_id=None, kind=kind, data=data, link=link, now=now
    )


def _inbox(member_id: int | None, technicians: bool) -> ColumnElement[bool]:
    """Whose notices: one member's, or (exclusively) the technicians'."""
    if (member_id is None) == (not technicians):
        raise ValueError("name a member_id or technicians=True, not both")
    if technicians:
        return Notification.audience == TECHNICIANS
    return (Notification.audience == MEMBER) & (Notification.member_id == member_id)


async def unread_count(
    db: AsyncSession, *, member_id: int | None = None, technicians: bool = False
) -> int:
    """How many of the inbox's notices are unread."""
    statement = select(func.count()).where(
        _inbox(member_id, technicians), Notification.read_at.is_(None)
    )
    return int((await run(db, statement)).scalar_one())


async def listing(
    db: AsyncSession,
    *,
    member_id: int | None = None,
    technicians: bool = False,
    limit: int,
    before_id: int | None = None,
    unread_only: bool = False,
) -> Page[NotificationView]:
    """The inbox newest first, a page at a time."""
    statement = select(Notification).where(_inbox(member_id, technicians))
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))

    async def fetch(count: int) -> list[NotificationView]:
        paged = newest_first(statement, Notification.id, before_id=before_id, limit=count)
        return [_view(row) for row in await db.scalars(paged)]

    return await fetch_page(fetch, limit, by_id)


async def mark_read(
    db: AsyncSession,
    ids: Iterable[int],
    *,
    member_id: int | None = None,
    technicians: bool = False,
    now: datetime,
) -> int:
    """Mark these of the inbox's notices read (ids of another inbox are left alone); how many
    were unread."""
    wanted = list(ids)
    if not wanted:
        return 0
    marked = await run(
        db,
        update(Notification)
        .where(
            _inbox(member_id, technicians),
            Notification.id.in_(wanted),
            Notification.read_at.is_(None),
        )
        .values(read_at=now),
    )
    return int(marked.rowcount)


def _view(row: Notification) -> NotificationView:
    return NotificationView(
        id=row.id,
        kind=row.kind,
        data=json.loads(row.data),
        link=row.link,
        created_at=row.created_at,
        read_at=row.read_at,
    )
