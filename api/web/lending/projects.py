"""A member's project pages: their projects, a new one, and a project's page with its members
and requests, where its leaders edit it and manage its members.

A project the viewer is not in is the 404 page, as one that does not exist (technicians see
every project at /lab/projects/{id}). Every change is a form post answered with a redirect back
to the page, or the page again with the refusal next to the form it concerns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ClockDep
from api.deps import DbDep
from api.fields import REQUEST, Id, Paging, PagingDep
from api.lending import NewMembership, NewProject, Role
from api.pages import untranslated as _
from api.projects import member_by_email
from api.web.forms import FieldErrors, validated
from api.web.lending.common import acting, decision_note, posted, refusal, said
from api.web.member import older_url
from api.web.render import gettext_for, notify, render
from api.web.viewer import MemberViewerDep, PageNotFound, Viewer
from core import equipment, project_members, projects
from core.clock import Clock
from core.errors import Conflict, DomainError, NotFound
from core.formats import BIGINT_MAX
from core.models.projects import PROJECT_ROLES
from core.projects import LEADER, OPEN_STATUSES, ProjectView

router = APIRouter(include_in_schema=False)
LIST = "/me/projects"
M = TypeVar("M", bound=BaseModel)


def page_of(project_id: int) -> str:
    return f"{LIST}/{project_id}"


class Someone(BaseModel):
    """A member of the project, chosen on its page."""

    model_config = REQUEST

    member_id: int = Field(ge=1, le=BIGINT_MAX)


class RoleForm(Someone):
    role: Role


async def _own(db: AsyncSession, viewer: Viewer, project_id: int) -> ProjectView:
    try:
        project = await projects.get(db, project_id)
    except NotFound:
        raise PageNotFound(viewer) from None
    if project.role_of(viewer.member_id) is None:
        raise PageNotFound(viewer)
    return project


async def _project_page(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    project_id: int,
    paging: Paging | None = None,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The project's page; after a refused post, with the form's values and errors."""
    project = await _own(db, viewer, project_id)
    limit, before_id = (paging.limit, paging.before_id) if paging else (50, None)
    requests = await equipment.of_project(db, project_id, limit=limit, before_id=before_id)
    role = project.role_of(viewer.member_id)
    context: dict[str, Any] = {
        "project": project,
        "decision_note": decision_note(project.decision_note, viewer.formats),
        "leads": role == LEADER and project.status in OPEN_STATUSES,
        "roles": PROJECT_ROLES,
        "requests": requests.items,
        "older": older_url(request, requests.next_before_id),
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, viewer, "lending/project.html", context, status=status)


@router.get(LIST)
async def my_projects(request: Request, viewer: MemberViewerDep, db: DbDep) -> Response:
    """The projects the member is in, newest first."""
    assert viewer.member_id is not None
    context = {"projects": await projects.of_member(db, viewer.member_id)}
    return render(request, viewer, "lending/projects.html", context)


def _new_page(
    request: Request,
    viewer: Viewer,
    values: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Response:
    context = {"values": values or {}, "errors": errors or {}}
    return render(request, viewer, "lending/new_project.html", context, status=status)


@router.get(LIST + "/new")
async def new_project(request: Request, viewer: MemberViewerDep) -> Response:
    """The form that starts a project."""
    return _new_page(request, viewer)


@router.post(LIST)
async def create_project(
    request: Request, viewer: MemberViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Start the project (pending until a technician approves it), then to its page."""
    form = await posted(request)
    new, errors = validated(NewProject, form, viewer.formats)
    if new is None:
        return _new_page(request, viewer, form, errors, status=422)
    created = await projects.create(
        db, acting(viewer), name=new.name, description=new.description, now=clock.now()
    )
    _ = gettext_for(viewer.language)
    notify(
        request,
        _("Project %(name)s created: a lab technician will look at it.") % {"name": created.name},
    )
    return RedirectResponse(page_of(created.id), status_code=303)


@router.get(LIST + "/{project_id}")
async def project_page(
    request: Request, viewer: MemberViewerDep, db: DbDep, project_id: Id, paging: PagingDep
) -> Response:
    """The project: its status, members and requests; its leaders' forms."""
    return await _project_page(request, viewer, db, project_id, paging)


Change = Callable[[AsyncSession, Viewer, Clock, dict[str, str]], Awaitable[str | FieldErrors]]


def _change(change: Change) -> Callable[..., Awaitable[Response]]:
    """A leader's form post: `change` makes it and says what was done (the notice), or
    returns the form's errors; the core's refusals are shown with the form (`""`: above it)."""

    async def post(
        request: Request, viewer: MemberViewerDep, db: DbDep, clock: ClockDep, project_id: Id
    ) -> Response:
        await _own(db, viewer, project_id)
        form = await posted(request) | {"project_id": str(project_id)}
        try:
            async with db.begin_nested():
                done = await change(db, viewer, clock, form)
        except DomainError as error:
            errors = {"": refusal(error, viewer.formats)}
            return await _project_page(
                request, viewer, db, project_id, errors=errors, values=form, status=error.status
            )
        if isinstance(done, dict):
            return await _project_page(
                request, viewer, db, project_id, errors=done, values=form, status=422
            )
        notify(request, done)
        return RedirectResponse(page_of(project_id), status_code=303)

    return post


async def _edit(
    db: AsyncSession, viewer: Viewer, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    fields = {key: form.get(key, "") for key in ("name", "description")}
    new, errors = validated(NewProject, fields, viewer.formats)
    if new is None:
        return errors
    await project_members.edit(
        db,
        acting(viewer),
        int(form["project_id"]),
        name=new.name,
        description=new.description,
        now=clock.now(),
    )
    return said(viewer, _("Project saved."))


async def _add(
    db: AsyncSession, viewer: Viewer, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    fields = {key: form.get(key, "") for key in ("email", "role")}
    new, errors = validated(NewMembership, fields, viewer.formats)
    if new is None:
        return errors
    try:
        member_id = await member_by_email(db, new.email)
        project = await project_members.add_member(
            db, acting(viewer), int(form["project_id"]), member_id, new.role, clock.now()
        )
    except NotFound:
        return {"email": said(viewer, _("No member has this e-mail address."))}
    except Conflict:
        return {"email": said(viewer, _("This member is in the project already."))}
    name = next(m.name for m in project.members if m.member_id == member_id)
    return said(viewer, _("%(name)s added."), name=name)


def _chosen(form: dict[str, str], model: type[M], viewer: Viewer) -> M:
    """The member chosen by the page's own form; anything else is no page."""
    fields = {key: form[key] for key in model.model_fields if key in form}
    chosen, _errors = validated(model, fields, viewer.formats)
    if chosen is None:
        raise PageNotFound(viewer)
    return chosen


async def _set_role(
    db: AsyncSession, viewer: Viewer, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    chosen = _chosen(form, RoleForm, viewer)
    await project_members.set_role(
        db, acting(viewer), int(form["project_id"]), chosen.member_id, chosen.role, clock.now()
    )
    return said(viewer, _("Role changed."))


async def _remove(
    db: AsyncSession, viewer: Viewer, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    chosen = _chosen(form, Someone, viewer)
    await project_members.remove_member(
        db, acting(viewer), int(form["project_id"]), chosen.member_id, clock.now()
    )
    return said(viewer, _("Removed from the project."))


async def _complete(
    db: AsyncSession, viewer: Viewer, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    await projects.complete(db, acting(viewer), int(form["project_id"]), now=clock.now())
    return said(viewer, _("Project completed."))


# Each form of the project's page posts to the page's address plus its own part.
for path, change in (
    ("/edit", _edit),
    ("/members", _add),
    ("/role", _set_role),
    ("/remove", _remove),
    ("/complete", _complete),
):
    router.add_api_route(LIST + "/{project_id}" + path, _change(change), methods=["POST"])
