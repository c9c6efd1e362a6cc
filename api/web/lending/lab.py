"""The lab technicians' pages: /lab with the projects and requests waiting for a decision and
the items out (overdue ones first), a project's page and a request's page with Approve (an
optional note) and Reject (a reason the members read), and a project's Complete and Archive.

A refused decision (decided meanwhile by another technician, the item reserved meanwhile) is
the page again with why, next to the form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ClockDep
from api.deps import DbDep
from api.fields import Id
from api.lending import Approval, Rejection
from api.pages import untranslated as _
from api.web.forms import FieldErrors, validated
from api.web.lending.common import acting, decision_note, posted, refusal, said
from api.web.render import notify, render
from api.web.viewer import PageNotFound, TechnicianViewerDep, Viewer
from core import equipment, projects, reservations
from core.clock import Clock
from core.errors import DomainError, NotFound
from core.paging import PAGE_MAX

router = APIRouter(include_in_schema=False)
HOME = "/lab"
PROJECTS = HOME + "/projects"
REQUESTS = HOME + "/requests"
OUT = ("overdue", "checked_out")


@router.get(HOME)
async def queues(request: Request, viewer: TechnicianViewerDep, db: DbDep) -> Response:
    """What waits for a technician, and what is out."""
    waiting = await projects.by_status(db, "pending", limit=PAGE_MAX)
    asked = await equipment.by_status(db, ("pending",), limit=PAGE_MAX)
    out = await equipment.by_status(db, OUT, limit=PAGE_MAX)
    context = {
        "projects": waiting.items,
        "requests": asked.items,
        # Overdue first, then by when each is due back.
        "out": sorted(out.items, key=lambda r: (r.status != "overdue", r.ends_at)),
        "more": any(page.next_before_id for page in (waiting, asked, out)),
    }
    return render(request, viewer, "lab/queues.html", context)


async def _project_page(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    project_id: int,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        project = await projects.get(db, project_id)
    except NotFound:
        raise PageNotFound(viewer) from None
    requests = await equipment.of_project(db, project_id, limit=PAGE_MAX)
    context: dict[str, Any] = {
        "project": project,
        "decision_note": decision_note(project.decision_note, viewer.formats),
        "requests": requests.items,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, viewer, "lab/project.html", context, status=status)


async def _request_page(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    request_id: int,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    try:
        view = await equipment.get(db, request_id)
    except NotFound:
        raise PageNotFound(viewer) from None
    overlapping = await reservations.reservations(db, view.item_id, view.starts_at, view.ends_at)
    context: dict[str, Any] = {
        "req": view,
        "decision_note": decision_note(view.decision_note, viewer.formats),
        "others": [r for r in overlapping if r.request_id != view.id],
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, viewer, "lab/request.html", context, status=status)


@router.get(PROJECTS + "/{project_id}")
async def project_page(
    request: Request, viewer: TechnicianViewerDep, db: DbDep, project_id: Id
) -> Response:
    """A project with its members and requests, and the decisions its status allows."""
    return await _project_page(request, viewer, db, project_id)


@router.get(REQUESTS + "/{request_id}")
async def request_page(
    request: Request, viewer: TechnicianViewerDep, db: DbDep, request_id: Id
) -> Response:
    """A request, the item's other reservations in its period, and Approve or Reject."""
    return await _request_page(request, viewer, db, request_id)


Decide = Callable[[AsyncSession, Viewer, int, Clock, dict[str, str]], Awaitable[str | FieldErrors]]
Shown = Callable[..., Awaitable[Response]]


def _decision(decide: Decide, shown: Shown, back: str) -> Callable[..., Awaitable[Response]]:
    """A decision's form post: `decide` makes it and says what was done, or returns the
    form's errors; the core's refusals are shown above the forms."""

    async def post(
        request: Request, viewer: TechnicianViewerDep, db: DbDep, clock: ClockDep, thing_id: Id
    ) -> Response:
        form = await posted(request)
        try:
            async with db.begin_nested():
                done = await decide(db, viewer, thing_id, clock, form)
        except NotFound:
            raise PageNotFound(viewer) from None
        except DomainError as error:
            errors = {"": refusal(error, viewer.formats)}
            return await shown(
                request, viewer, db, thing_id, errors=errors, values=form, status=error.status
            )
        if isinstance(done, dict):
            return await shown(request, viewer, db, thing_id, errors=done, values=form, status=422)
        notify(request, done)
        return RedirectResponse(f"{back}/{thing_id}", status_code=303)

    return post


async def _approve_project(
    db: AsyncSession, viewer: Viewer, project_id: int, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    approval, errors = validated(Approval, {"note": form.get("note", "")}, viewer.formats)
    if approval is None:
        return errors
    await projects.approve(db, acting(viewer), project_id, now=clock.now(), note=approval.note)
    return said(viewer, _("Project approved: its members are told."))


async def _reject_project(
    db: AsyncSession, viewer: Viewer, project_id: int, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    rejection, errors = validated(Rejection, {"reason": form.get("reason", "")}, viewer.formats)
    if rejection is None:
        return errors
    await projects.reject(db, acting(viewer), project_id, reason=rejection.reason, now=clock.now())
    return said(viewer, _("Project rejected: its members are told why."))


async def _complete_project(
    db: AsyncSession, viewer: Viewer, project_id: int, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    await projects.complete(db, acting(viewer), project_id, now=clock.now())
    return said(viewer, _("Project completed."))


async def _archive_project(
    db: AsyncSession, viewer: Viewer, project_id: int, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    await projects.archive(db, acting(viewer), project_id, now=clock.now())
    return said(viewer, _("Project archived."))


async def _approve_request(
    db: AsyncSession, viewer: Viewer, request_id: int, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    approval, errors = validated(Approval, {"note": form.get("note", "")}, viewer.formats)
    if approval is None:
        return errors
    await equipment.approve(db, acting(viewer), request_id, now=clock.now(), note=approval.note)
    return said(viewer, _("Request approved: the item is reserved for the project."))


async def _reject_request(
    db: AsyncSession, viewer: Viewer, request_id: int, clock: Clock, form: dict[str, str]
) -> str | FieldErrors:
    rejection, errors = validated(Rejection, {"reason": form.get("reason", "")}, viewer.formats)
    if rejection is None:
        return errors
    await equipment.reject(db, acting(viewer), request_id, reason=rejection.reason, now=clock.now())
    return said(viewer, _("Request rejected: the requester is told why."))


for base, shown, decisions in (
    (
        PROJECTS,
        _project_page,
        (
            ("approve", _approve_project),
            ("reject", _reject_project),
            ("complete", _complete_project),
            ("archive", _archive_project),
        ),
    ),
    (REQUESTS, _request_page, (("approve", _approve_request), ("reject", _reject_request))),
):
    for action, decide in decisions:
        router.add_api_route(
            f"{base}/{{thing_id}}/{action}", _decision(decide, shown, base), methods=["POST"]
        )
