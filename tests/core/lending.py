"""Test data of the lending workflow: people acting, projects, items and requests."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import equipment, notifications, projects, rentals
from core.equipment import RequestView
from core.members import NewMember
from core.models import AuditEvent, Notification
from core.notifications import JsonValue
from core.projects import Acting, ProjectView
from tests.factories import T0, TESTER, make_member, unique_slug

HOUR = timedelta(hours=1)


def technician(name: str = "Ada Technician") -> Acting:
    return Acting(member_id=None, subject=unique_slug("tech"), name=name, is_technician=True)


def as_member(member: NewMember) -> Acting:
    return Acting(member_id=member.member_id, subject=f"sub-{member.member_id}", name=member.name)


async def make_project(
    db: AsyncSession,
    leader: NewMember | None = None,
    *,
    active: bool = True,
    name: str = "Robot arm",
) -> ProjectView:
    """A project led by `leader` (a new member by default), approved unless `active=False`."""
    leader = leader or await make_member(db, name="Grace Hopper")
    project = await projects.create(db, as_member(leader), name=name, description=None, now=T0)
    if active:
        project = await projects.approve(db, technician(), project.id, now=T0)
    return project


async def make_item(db: AsyncSession, *, name: str = "Cordless drill") -> rentals.ItemRecord:
    tid = "E280" + secrets.token_hex(10).upper()
    return await rentals.add_item(db, tid=tid, name=name, description=None, now=T0, actor=TESTER)


async def make_request(
    db: AsyncSession,
    project: ProjectView,
    item: rentals.ItemRecord,
    *,
    starts_at: datetime = T0,
    hours: int = 4,
    approved: bool = False,
    now: datetime = T0,
) -> RequestView:
    """A request by the project's first leader for `hours` from `starts_at`."""
    leader = next(m for m in project.members if m.role == projects.LEADER)
    acting = Acting(member_id=leader.member_id, subject=f"sub-{leader.member_id}", name=leader.name)
    made = await equipment.request(
        db,
        acting,
        project_id=project.id,
        item=item.item_id,
        starts_at=starts_at,
        ends_at=starts_at + hours * HOUR,
        now=now,
    )
    if approved:
        made = await equipment.approve(db, technician(), made.id, now=now)
    return made


async def trail(db: AsyncSession, entity: str, entity_id: int) -> list[tuple[str, str, str]]:
    """(action, old → new, who) of the entity's audit rows, oldest first."""
    rows = await db.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )
    return [
        (
            row.action,
            f"{row.old_value} → {row.new_value}",
            row.actor_name or row.actor_id or "system",
        )
        for row in rows
    ]


async def notices_of(db: AsyncSession, member_id: int) -> list[str]:
    """The kinds of a member's notifications, oldest first."""
    kinds = await db.scalars(
        select(Notification.kind)
        .where(Notification.member_id == member_id)
        .order_by(Notification.id)
    )
    return list(kinds)


async def newest_technician_notice(db: AsyncSession) -> tuple[str, dict[str, JsonValue]]:
    """(kind, data) of the newest notice in the technicians' inbox."""
    [notice] = (await notifications.listing(db, technicians=True, limit=1)).items
    return notice.kind, notice.data
