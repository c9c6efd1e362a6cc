"""Projects of the lab: members form one, lab technicians approve it, then it may borrow.

Who may do what is decided here, for the web and any other caller alike: the caller says who
acts (`Acting`). Any member creates a project and leads it (its leaders manage it:
core/project_members.py); technicians approve or reject it (a rejection says why). A project
moves pending → active | rejected and active → completed → archived, nothing else; each move is
one audit row, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, notifications
from core.audit import Actor
from core.db import run
from core.errors import InvalidTransition, NotAuthorized, NotFound, ReasonRequired
from core.formats import NAME_MAX, REASON_MAX
from core.models import EquipmentRequest, Member, Project, ProjectMember
from core.notifications import Kind
from core.paging import Page, by_id, fetch_page, newest_first
from core.text import check_lines, check_one_line

DESCRIPTION_MAX = 4000
NOTE_MAX = 1000
LEADER = "leader"
# Members can be changed while a project is under way; afterwards it is a record.
OPEN_STATUSES = ("pending", "active")
# Requests that keep a project from completing: asked for, reserved, or out.
UNFINISHED_REQUESTS = ("pending", "approved", "checked_out", "overdue")


@dataclass(frozen=True)
class Acting:
    """Who acts: their member (None for a technician who has none), login subject and name,
    and whether they are a lab technician (the web side maps its login to this)."""

    member_id: int | None
    subject: str
    name: str | None = None
    is_technician: bool = False

    @property
    def actor(self) -> Actor:
        return Actor.person(self.subject, self.name)


@dataclass(frozen=True)
class ProjectSummary:
    id: int
    name: str
    description: str | None
    status: str
    created_by: int
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None


@dataclass(frozen=True)
class Membership:
    member_id: int
    name: str
    role: str
    added_at: datetime


@dataclass(frozen=True)
class ProjectView(ProjectSummary):
    members: tuple[Membership, ...]

    def role_of(self, member_id: int | None) -> str | None:
        return next((m.role for m in self.members if m.member_id == member_id), None)


@dataclass(frozen=True)
class MyProject(ProjectSummary):
    role: str


@dataclass(frozen=True)
class _Move:
    action: str
    old: str
    new: str
    done: str  # "project is rejected; only pending projects can be <done>"


APPROVE = _Move("approve", "pending", "active", "approved")
REJECT = _Move("reject", "pending", "rejected", "rejected")
COMPLETE = _Move("complete", "active", "completed", "completed")
ARCHIVE = _Move("archive", "completed", "archived", "archived")
_SUMMARY = [getattr(Project, name) for name in ProjectSummary.__dataclass_fields__]


def checked_name(name: str) -> str:
    """A project's name as kept: stripped, one line of 1 to NAME_MAX characters."""
    name = check_one_line(name.strip())
    if not 1 <= len(name) <= NAME_MAX:
        raise ValueError(f"a project needs a name of 1-{NAME_MAX} characters")
    return name


def checked_description(description: str | None) -> str | None:
    text = check_lines(description.strip()) if description else ""
    if len(text) > DESCRIPTION_MAX:
        raise ValueError(f"a description has at most {DESCRIPTION_MAX} characters")
    return text or None


async def create(
    db: AsyncSession, acting: Acting, *, name: str, description: str | None, now: datetime
) -> ProjectView:
    """A new pending project led by the acting member; the technicians hear of it."""
    if acting.member_id is None:
        raise NotAuthorized("only a member can create a project")
    name, description = checked_name(name), checked_description(description)
    project_id = (
        await run(
            db,
            insert(Project)
            .values(
                name=name,
                description=description,
                status="pending",
                created_by=acting.member_id,
                created_at=now,
            )
            .returning(Project.id),
        )
    ).scalar_one()
    await run(
        db,
        insert(ProjectMember).values(
            project_id=project_id, member_id=acting.member_id, role=LEADER, added_at=now
        ),
    )
    await audit.PROJECT.record(
        db, project_id, "create", actor=acting.actor, now=now, new="pending", note=name
    )
    await notifications.notify_technicians(
        db,
        Kind.PROJECT_SUBMITTED,
        {"project_id": project_id, "project": name, "by": acting.name},
        f"/lab/projects/{project_id}",
        now,
    )
    return await get(db, project_id)


async def get(db: AsyncSession, project_id: int) -> ProjectView:
    """The project with its members (leaders first); NotFound if there is none."""
    row = (await run(db, select(*_SUMMARY).where(Project.id == project_id))).one_or_none()
    if row is None:
        raise NotFound(f"no project {project_id}")
    members = await run(
        db,
        select(ProjectMember.member_id, Member.name, ProjectMember.role, ProjectMember.added_at)
        .join(Member, Member.id == ProjectMember.member_id)
        .where(ProjectMember.project_id == project_id)
        .order_by(ProjectMember.role != LEADER, Member.name, Member.id),
    )
    return ProjectView(
        **row._mapping, members=tuple(Membership(**m._mapping) for m in members.all())
    )


async def role_of(db: AsyncSession, project_id: int, member_id: int | None) -> str | None:
    """The member's role in the project; None when they are not in it."""
    if member_id is None:
        return None
    statement = select(ProjectMember.role).where(
        ProjectMember.project_id == project_id, ProjectMember.member_id == member_id
    )
    return (await run(db, statement)).scalar_one_or_none()


async def of_member(db: AsyncSession, member_id: int) -> list[MyProject]:
    """The member's projects with their role, newest first."""
    rows = await run(
        db,
        select(*_SUMMARY, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.member_id == member_id)
        .order_by(Project.id.desc()),
    )
    return [MyProject(**row._mapping) for row in rows.all()]


async def by_status(
    db: AsyncSession, status: str, *, limit: int, before_id: int | None = None
) -> Page[ProjectSummary]:
    """Projects in one status newest first (the technicians' queue: "pending")."""
    statement = select(*_SUMMARY).where(Project.status == status)

    async def fetch(count: int) -> list[ProjectSummary]:
        paged = newest_first(statement, Project.id, before_id=before_id, limit=count)
        return [ProjectSummary(**row._mapping) for row in (await run(db, paged)).all()]

    return await fetch_page(fetch, limit, by_id)


async def approve(
    db: AsyncSession, acting: Acting, project_id: int, *, now: datetime, note: str | None = None
) -> ProjectView:
    """A technician approves a pending project: it becomes active; its members hear of it."""
    _technician(acting, APPROVE)
    return await _move(db, acting, project_id, APPROVE, now=now, note=checked_note(note))


async def reject(
    db: AsyncSession, acting: Acting, project_id: int, *, reason: str, now: datetime
) -> ProjectView:
    """A technician rejects a pending project, saying why; its members hear of it."""
    _technician(acting, REJECT)
    return await _move(db, acting, project_id, REJECT, now=now, note=required_reason(reason))


async def complete(
    db: AsyncSession, acting: Acting, project_id: int, *, now: datetime
) -> ProjectView:
    """A leader or a technician closes an active project whose requests are all done."""
    if not acting.is_technician and await role_of(db, project_id, acting.member_id) != LEADER:
        raise NotAuthorized("only the project's leaders or a technician can complete it")
    unfinished = await db.scalar(
        select(func.count()).where(
            EquipmentRequest.project_id == project_id,
            EquipmentRequest.status.in_(UNFINISHED_REQUESTS),
        )
    )
    if unfinished:
        raise InvalidTransition(
            f"project has {unfinished} open equipment requests: cancel them or return the "
            "items first"
        )
    return await _move(db, acting, project_id, COMPLETE, now=now)


async def archive(
    db: AsyncSession, acting: Acting, project_id: int, *, now: datetime
) -> ProjectView:
    """A technician files a completed project away."""
    _technician(acting, ARCHIVE)
    return await _move(db, acting, project_id, ARCHIVE, now=now)


def checked_note(note: str | None) -> str | None:
    """A note as kept: stripped, None when blank; ValueError past NOTE_MAX characters."""
    text = check_lines(note.strip()) if note else ""
    if len(text) > NOTE_MAX:
        raise ValueError(f"a note has at most {NOTE_MAX} characters")
    return text or None


def required_reason(reason: str) -> str:
    """The reason of a rejection, stripped; it cannot be empty (the member reads it)."""
    reason = check_lines(reason.strip())
    if not reason:
        raise ReasonRequired("a rejection needs a reason")
    if len(reason) > REASON_MAX:
        raise ValueError(f"a reason has at most {REASON_MAX} characters")
    return reason


def _technician(acting: Acting, move: _Move) -> None:
    if not acting.is_technician:
        raise NotAuthorized(f"only a lab technician can {move.action} a project")


async def _move(
    db: AsyncSession,
    acting: Acting,
    project_id: int,
    move: _Move,
    *,
    now: datetime,
    note: str | None = None,
) -> ProjectView:
    values: dict[str, object] = {"status": move.new}
    if move in (APPROVE, REJECT):
        values |= {"decided_by": acting.subject, "decided_at": now, "decision_note": note}
    # Conditional on the old status: of two technicians deciding at once, one does.
    moved = await run(
        db,
        update(Project)
        .where(Project.id == project_id, Project.status == move.old)
        .values(**values)
        .returning(Project.name),
    )
    name = moved.scalar_one_or_none()
    if name is None:
        current = (await get(db, project_id)).status
        raise InvalidTransition(
            f"project is {current}; only {move.old} projects can be {move.done}"
        )
    await audit.PROJECT.record(
        db,
        project_id,
        move.action,
        actor=acting.actor,
        now=now,
        old=move.old,
        new=move.new,
        note=note,
    )
    project = await get(db, project_id)
    if move in (APPROVE, REJECT):
        kind = Kind.PROJECT_APPROVED if move is APPROVE else Kind.PROJECT_REJECTED
        data = {"project_id": project_id, "project": name, "reason": note}
        for member in project.members:
            link = f"/me/projects/{project_id}"
            await notifications.notify_member(db, member.member_id, kind, data, link, now)
    return project
