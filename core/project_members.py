"""A project's leaders edit it and manage its members (roles leader, member, advisor).

Only leaders may, and only while the project is pending or active. A project always keeps a
leader: leaders cannot be removed (make them a member first), nor the last one demoted. Every
change is an audit row of the project, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.db import run
from core.errors import Conflict, LeaderRequired, NotAuthorized, NotFound, ProjectClosed
from core.models import Member, Project, ProjectMember
from core.models.projects import PROJECT_ROLES
from core.projects import (
    LEADER,
    OPEN_STATUSES,
    Acting,
    ProjectView,
    checked_description,
    checked_name,
    get,
    role_of,
)


def _checked_role(role: str) -> str:
    if role not in PROJECT_ROLES:
        raise ValueError(f"a role is one of {', '.join(PROJECT_ROLES)}")
    return role


async def _leading(db: AsyncSession, acting: Acting, project_id: int) -> ProjectView:
    """The project, if the acting member leads it and it is still open to changes."""
    project = await get(db, project_id)
    if project.role_of(acting.member_id) != LEADER:
        raise NotAuthorized("only the project's leaders can change it")
    if project.status not in OPEN_STATUSES:
        raise ProjectClosed(
            f"project is {project.status}; only pending or active projects can be changed"
        )
    return project


async def edit(
    db: AsyncSession,
    acting: Acting,
    project_id: int,
    *,
    name: str,
    description: str | None,
    now: datetime,
) -> ProjectView:
    """A leader renames or redescribes the project."""
    project = await _leading(db, acting, project_id)
    name, description = checked_name(name), checked_description(description)
    await run(
        db,
        update(Project).where(Project.id == project_id).values(name=name, description=description),
    )
    await audit.PROJECT.record(
        db, project_id, "edit", actor=acting.actor, now=now, old=project.name, new=name
    )
    return await get(db, project_id)


async def add_member(
    db: AsyncSession, acting: Acting, project_id: int, member_id: int, role: str, now: datetime
) -> ProjectView:
    """A leader adds a member in a role (leader, member or advisor)."""
    await _leading(db, acting, project_id)
    role = _checked_role(role)
    name = await db.scalar(select(Member.name).where(Member.id == member_id))
    if name is None:
        raise NotFound(f"no member {member_id}")
    if await role_of(db, project_id, member_id) is not None:
        raise Conflict(f"{name} is in the project already")
    await run(
        db,
        insert(ProjectMember).values(
            project_id=project_id, member_id=member_id, role=role, added_at=now
        ),
    )
    await audit.PROJECT.record(
        db, project_id, "member_add", actor=acting.actor, now=now, new=f"{name}: {role}"
    )
    return await get(db, project_id)


async def set_role(
    db: AsyncSession, acting: Acting, project_id: int, member_id: int, role: str, now: datetime
) -> ProjectView:
    """A leader changes a member's role; the last leader stays one."""
    project = await _leading(db, acting, project_id)
    role, old = _checked_role(role), project.role_of(member_id)
    if old is None:
        raise NotFound(f"member {member_id} is not in the project")
    leaders = sum(1 for m in project.members if m.role == LEADER)
    if old == LEADER and role != LEADER and leaders == 1:
        raise LeaderRequired("the only leader stays leader: make another member leader first")
    await run(
        db,
        update(ProjectMember)
        .where(ProjectMember.project_id == project_id, ProjectMember.member_id == member_id)
        .values(role=role),
    )
    name = next(m.name for m in project.members if m.member_id == member_id)
    await audit.PROJECT.record(
        db,
        project_id,
        "member_role",
        actor=acting.actor,
        now=now,
        old=f"{name}: {old}",
        new=f"{name}: {role}",
    )
    return await get(db, project_id)


async def remove_member(
    db: AsyncSession, acting: Acting, project_id: int, member_id: int, now: datetime
) -> ProjectView:
    """A leader removes a member; leaders cannot be removed (make them a member first)."""
    project = await _leading(db, acting, project_id)
    membership = next((m for m in project.members if m.member_id == member_id), None)
    if membership is None:
        raise NotFound(f"member {member_id} is not in the project")
    if membership.role == LEADER:
        raise LeaderRequired("a leader cannot be removed: make them a member first")
    await run(
        db,
        delete(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.member_id == member_id
        ),
    )
    label = f"{membership.name}: {membership.role}"
    await audit.PROJECT.record(
        db, project_id, "member_remove", actor=acting.actor, now=now, old=label
    )
    return await get(db, project_id)
