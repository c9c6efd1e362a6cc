"""Projects over HTTP: members create and lead theirs (`/api/v1/me/projects`), lab technicians
approve, reject, complete and archive them (`/api/v1/lab/projects`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ClockDep
from api.deps import DbDep
from api.fields import Id, PagingDep, refusals
from api.lending import (
    Approval,
    MemberActingDep,
    MyProjectOut,
    NewMembership,
    NewProject,
    ProjectOut,
    ProjectPage,
    Rejection,
    RequestPage,
    RoleChange,
    TechnicianActingDep,
    lab_router,
    members_router,
    not_yours,
)
from core import equipment, members, project_members, projects
from core.errors import NotFound
from core.models.projects import PROJECT_STATUSES
from core.paging import PAGE_MAX
from core.projects import Acting, ProjectView

mine = members_router("/projects", "projects")
lab = lab_router("/projects", "projects")
ProjectStatus = Annotated[
    str, Query(pattern=f"^({'|'.join(PROJECT_STATUSES)})$", description="Only this status.")
]
CHANGES = refusals(
    404,
    {
        403: "Only the project's leaders can change it.",
        409: "The project is closed, or the "
        "change would leave it without a leader (`leader_required`).",
    },
)


async def _own_project(db: AsyncSession, acting: Acting, project_id: int) -> ProjectView:
    """The project if the acting member is in it; 404 otherwise."""
    project = await projects.get(db, project_id)
    if project.role_of(acting.member_id) is None:
        raise not_yours("project", project_id)
    return project


async def member_by_email(db: AsyncSession, email: str) -> int:
    """The member whose e-mail address is exactly this one (in any case); NotFound otherwise.
    A leader names whom to add this way: members do not see the member list."""
    wanted = email.casefold()
    found = await members.search(db, query=email, limit=PAGE_MAX)
    match = next((m.id for m in found if m.email and m.email.casefold() == wanted), None)
    if match is None:
        raise NotFound("no member has this e-mail address")
    return match


@mine.get("")
async def my_projects(acting: MemberActingDep, db: DbDep) -> list[MyProjectOut]:
    """The projects you are in, with your role, newest first."""
    assert acting.member_id is not None
    return [MyProjectOut.model_validate(p) for p in await projects.of_member(db, acting.member_id)]


@mine.post("", status_code=status.HTTP_201_CREATED)
async def create_project(
    body: NewProject, acting: MemberActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """Start a project: it is pending until a lab technician approves it; you lead it."""
    created = await projects.create(
        db, acting, name=body.name, description=body.description, now=clock.now()
    )
    return ProjectOut.model_validate(created)


@mine.get("/{project_id}", responses=refusals({404: "No project of yours."}))
async def my_project(project_id: Id, acting: MemberActingDep, db: DbDep) -> ProjectOut:
    """A project you are in, with its members."""
    return ProjectOut.model_validate(await _own_project(db, acting, project_id))


@mine.put("/{project_id}", responses=CHANGES)
async def edit_project(
    project_id: Id, body: NewProject, acting: MemberActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """Rename or redescribe a project you lead (while pending or active)."""
    await _own_project(db, acting, project_id)
    edited = await project_members.edit(
        db, acting, project_id, name=body.name, description=body.description, now=clock.now()
    )
    return ProjectOut.model_validate(edited)


@mine.post("/{project_id}/members", status_code=status.HTTP_201_CREATED, responses=CHANGES)
async def add_member(
    project_id: Id, body: NewMembership, acting: MemberActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """Add a member (by e-mail address) to a project you lead, as leader, member or advisor."""
    await _own_project(db, acting, project_id)
    member_id = await member_by_email(db, body.email)
    added = await project_members.add_member(
        db, acting, project_id, member_id, body.role, clock.now()
    )
    return ProjectOut.model_validate(added)


@mine.put("/{project_id}/members/{member_id}", responses=CHANGES)
async def set_role(
    project_id: Id,
    member_id: Id,
    body: RoleChange,
    acting: MemberActingDep,
    db: DbDep,
    clock: ClockDep,
) -> ProjectOut:
    """Change a member's role in a project you lead; the last leader stays one."""
    await _own_project(db, acting, project_id)
    changed = await project_members.set_role(
        db, acting, project_id, member_id, body.role, clock.now()
    )
    return ProjectOut.model_validate(changed)


@mine.delete("/{project_id}/members/{member_id}", responses=CHANGES)
async def remove_member(
    project_id: Id, member_id: Id, acting: MemberActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """Take a member off a project you lead; leaders cannot be removed (make them a member)."""
    await _own_project(db, acting, project_id)
    removed = await project_members.remove_member(db, acting, project_id, member_id, clock.now())
    return ProjectOut.model_validate(removed)


@mine.post("/{project_id}/complete", responses=CHANGES)
async def complete_mine(
    project_id: Id, acting: MemberActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """Close an active project you lead once none of its requests is open."""
    await _own_project(db, acting, project_id)
    return ProjectOut.model_validate(
        await projects.complete(db, acting, project_id, now=clock.now())
    )


@mine.get("/{project_id}/requests", responses=refusals({404: "No project of yours."}))
async def my_project_requests(
    project_id: Id, acting: MemberActingDep, db: DbDep, paging: PagingDep
) -> RequestPage:
    """The equipment requests of a project you are in, newest first."""
    await _own_project(db, acting, project_id)
    page = await equipment.of_project(
        db, project_id, limit=paging.limit, before_id=paging.before_id
    )
    return RequestPage.model_validate(page)


@lab.get("")
async def lab_projects(
    db: DbDep, paging: PagingDep, status: ProjectStatus = "pending"
) -> ProjectPage:
    """Projects in one status, newest first: by default those waiting for a decision."""
    page = await projects.by_status(db, status, limit=paging.limit, before_id=paging.before_id)
    return ProjectPage.model_validate(page)


@lab.get("/{project_id}", responses=refusals(404))
async def lab_project(project_id: Id, db: DbDep) -> ProjectOut:
    """Any project, with its members."""
    return ProjectOut.model_validate(await projects.get(db, project_id))


@lab.get("/{project_id}/requests", responses=refusals(404))
async def lab_project_requests(project_id: Id, db: DbDep, paging: PagingDep) -> RequestPage:
    """A project's equipment requests, newest first."""
    await projects.get(db, project_id)
    page = await equipment.of_project(
        db, project_id, limit=paging.limit, before_id=paging.before_id
    )
    return RequestPage.model_validate(page)


DECISIONS = refusals(404, {409: "The project is not in the status this needs."})


@lab.post("/{project_id}/approve", responses=DECISIONS)
async def approve(
    project_id: Id, body: Approval, acting: TechnicianActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """Approve a pending project: it becomes active and may borrow; its members are told."""
    approved = await projects.approve(db, acting, project_id, now=clock.now(), note=body.note)
    return ProjectOut.model_validate(approved)


@lab.post("/{project_id}/reject", responses=DECISIONS)
async def reject(
    project_id: Id, body: Rejection, acting: TechnicianActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """Reject a pending project, saying why (400 `reason_required` without a reason)."""
    rejected = await projects.reject(db, acting, project_id, reason=body.reason, now=clock.now())
    return ProjectOut.model_validate(rejected)


@lab.post("/{project_id}/complete", responses=DECISIONS)
async def complete(
    project_id: Id, acting: TechnicianActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """Close an active project once none of its requests is open."""
    return ProjectOut.model_validate(
        await projects.complete(db, acting, project_id, now=clock.now())
    )


@lab.post("/{project_id}/archive", responses=DECISIONS)
async def archive(
    project_id: Id, acting: TechnicianActingDep, db: DbDep, clock: ClockDep
) -> ProjectOut:
    """File a completed project away."""
    return ProjectOut.model_validate(
        await projects.archive(db, acting, project_id, now=clock.now())
    )
