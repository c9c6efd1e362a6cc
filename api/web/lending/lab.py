"""The lab technicians' pages: /lab with the projects and requests waiting for a decision and
the items out (overdue ones first), a project's page and a request's page with Approve (an
optional note) and Reject (a reason the members read), and a project's Complete and Archive.

A refused decision (decided meanwhile by another technician, the item reserved meanwhile) is
the page again with why, next to the form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
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


@dataclass(frozen=True)
class Decision:
    """A decision's form post: the core function that `make`s it (called with the acting
    technician, the id, `now` and the checked `form`'s fields) and the notice when done."""

    action: str
    make: Callable[..., Awaitable[object]]
    done: str
    form: type[BaseModel] | None = None


PROJECT_DECISIONS = (
    Decision("approve", projects.approve, _("Project approved: its members are told."), Approval),
    Decision(
        "reject", projects.reject, _("Project rejected: its members are told why."), Rejection
    ),
    Decision("complete", projects.complete, _("Project completed.")),
    Decision("archive", projects.archive, _("Project archived.")),
)
REQUEST_DECISIONS = (
    Decision(
        "approve",
        equipment.approve,
        _("Request approved: the item is reserved for the project."),
        Approval,
    ),
    Decision(
        "reject", equipment.reject, _("Request rejected: the requester is told why."), Rejection
    ),
)
Shown = Callable[..., Awaitable[Response]]


def _post(decision: Decision, shown: Shown, back: str) -> Callable[..., Awaitable[Response]]:
    """The decision's route: made, back to the page with the notice; refused (by the form's
    check, or by the core, whose refusals go above the forms), the page again with why."""

    async def post(
        request: Request, viewer: TechnicianViewerDep, db: DbDep, clock: ClockDep, thing_id: Id
    ) -> Response:
        form = await posted(request)
        values: dict[str, Any] = {}
        if decision.form is not None:
            fields = {name: form.get(name, "") for name in decision.form.model_fields}
            checked, errors = validated(decision.form, fields, viewer.formats)
            if checked is None:
                return await shown(
                    request, viewer, db, thing_id, errors=errors, values=form, status=422
                )
            values = checked.model_dump()
        try:
            async with db.begin_nested():
                await decision.make(db, acting(viewer), thing_id, now=clock.now(), **values)
        except NotFound:
            raise PageNotFound(viewer) from None
        except DomainError as error:
            refused = {"": refusal(error, viewer.formats)}
            return await shown(
                request, viewer, db, thing_id, errors=refused, values=form, status=error.status
            )
        notify(request, said(viewer, decision.done))
        return RedirectResponse(f"{back}/{thing_id}", status_code=303)

    return post


for base, shown, decisions in (
    (PROJECTS, _project_page, PROJECT_DECISIONS),
    (REQUESTS, _request_page, REQUEST_DECISIONS),
):
    for decision in decisions:
        router.add_api_route(
            f"{base}/{{thing_id}}/{decision.action}", _post(decision, shown, base), methods=["POST"]
        )
