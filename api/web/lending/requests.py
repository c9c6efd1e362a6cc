"""A member's equipment request pages: the requests of their projects, asking for an item for
a period (with the item's reservations in it shown first), and a request's page with Cancel.

The request form checks availability with a GET (its own address, so the answer can be
bookmarked and needs no script) and sends the request with a POST to /me/requests. Times are
typed in the space's local time (`datetime-local`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.rentals import Tid
from api.auth import ClockDep
from api.deps import DbDep
from api.fields import REQUEST, Id, PagingDep
from api.lending import Note
from api.web.forms import FieldErrors, validated
from api.web.lending.common import (
    acting,
    decision_note,
    local_input,
    minute,
    parse_local,
    posted,
    refusal,
)
from api.web.member import older_url
from api.web.render import gettext_for, notify, render
from api.web.viewer import MemberViewerDep, PageNotFound, Viewer
from core import equipment, projects, rentals, reservations
from core.equipment import RequestView
from core.errors import DomainError, NotFound, UnknownItem
from core.formats import BIGINT_MAX
from core.projects import LEADER, NOTE_MAX
from core.reservations import Availability

router = APIRouter(include_in_schema=False)
LIST = "/me/requests"
NEW = LIST + "/new"
CANCELLABLE = ("pending", "approved")
DEFAULT_HOURS = 4


def page_of(request_id: int) -> str:
    return f"{LIST}/{request_id}"


class RequestForm(BaseModel):
    """The request form as posted; the times are checked on their own (`_period`)."""

    model_config = REQUEST

    project_id: int = Field(ge=1, le=BIGINT_MAX)
    tid: Tid
    starts_at: str
    ends_at: str
    note: Note | None = None


@dataclass(frozen=True)
class Asked:
    """What the form holds: the values as typed, and the period when it reads as one."""

    values: dict[str, str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _period(values: dict[str, str], viewer: Viewer) -> tuple[Asked, FieldErrors]:
    _ = gettext_for(viewer.language)
    errors: FieldErrors = {}
    moments: dict[str, datetime] = {}
    for field in ("starts_at", "ends_at"):
        try:
            moments[field] = parse_local(values.get(field, ""), viewer.formats)
        except ValueError:
            errors[field] = _("Please enter a date and a time.")
    return Asked(values, moments.get("starts_at"), moments.get("ends_at")), errors


async def _form_page(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    asked: Asked,
    errors: FieldErrors,
    *,
    now: datetime,
    status: int = 200,
) -> Response:
    """The form with the item's availability over the period, when both are given."""
    assert viewer.member_id is not None
    found: Availability | None = None
    tid = asked.values.get("tid")
    if tid and asked.starts_at and asked.ends_at and asked.starts_at < asked.ends_at:
        try:
            found = await reservations.availability(
                db, tid, asked.starts_at, asked.ends_at, now=now
            )
        except UnknownItem:
            errors = {"tid": refusal(UnknownItem(tid), viewer.formats)} | errors
    mine = await projects.of_member(db, viewer.member_id)
    context: dict[str, Any] = {
        "projects": [project for project in mine if project.status == "active"],
        "items": [item for item in await rentals.listing(db) if item.active],
        "values": asked.values,
        "errors": errors,
        "availability": found,
    }
    return render(request, viewer, "lending/new_request.html", context, status=status)


@router.get(NEW)
async def new_request(
    request: Request,
    viewer: MemberViewerDep,
    db: DbDep,
    clock: ClockDep,
    project_id: Annotated[str | None, Query(max_length=20)] = None,
    tid: Annotated[str | None, Query(max_length=64)] = None,
    starts_at: Annotated[str | None, Query(max_length=40)] = None,
    ends_at: Annotated[str | None, Query(max_length=40)] = None,
    note: Annotated[str | None, Query(max_length=NOTE_MAX)] = None,
) -> Response:
    """The request form; with an item and a period, their availability (the Check button)."""
    start = minute(clock.now())
    values = {
        "project_id": project_id or "",
        "tid": tid or "",
        "starts_at": starts_at or local_input(start, viewer.formats),
        "ends_at": ends_at or local_input(start + timedelta(hours=DEFAULT_HOURS), viewer.formats),
        "note": note or "",
    }
    asked, errors = _period(values, viewer)
    return await _form_page(request, viewer, db, asked, errors, now=clock.now())


@router.post(LIST)
async def create_request(
    request: Request, viewer: MemberViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Send the request, then to its page; refused, the form again with why."""
    form = await posted(request)
    asked, period_errors = _period(form, viewer)
    fields = {key: value for key, value in form.items() if key in RequestForm.model_fields}
    new, errors = validated(RequestForm, fields, viewer.formats)
    errors |= period_errors
    if new is None or asked.starts_at is None or asked.ends_at is None:
        return await _form_page(request, viewer, db, asked, errors, now=clock.now(), status=422)
    try:
        async with db.begin_nested():
            made = await equipment.request(
                db,
                acting(viewer),
                project_id=new.project_id,
                item=new.tid,
                starts_at=asked.starts_at,
                ends_at=asked.ends_at,
                now=clock.now(),
                note=new.note,
            )
    except DomainError as error:
        field = {"unknown_item": "tid", "project_not_active": "project_id"}.get(error.code, "")
        refused = {field: refusal(error, viewer.formats)}
        return await _form_page(
            request, viewer, db, asked, refused, now=clock.now(), status=error.status
        )
    _ = gettext_for(viewer.language)
    notify(request, _("Request sent: a lab technician will decide on it."))
    return RedirectResponse(page_of(made.id), status_code=303)


@router.get(LIST)
async def my_requests(
    request: Request, viewer: MemberViewerDep, db: DbDep, paging: PagingDep
) -> Response:
    """The requests of the member's projects, newest first."""
    assert viewer.member_id is not None
    page = await equipment.of_member(
        db, viewer.member_id, limit=paging.limit, before_id=paging.before_id
    )
    context = {"requests": page.items, "older": older_url(request, page.next_before_id)}
    return render(request, viewer, "lending/requests.html", context)


async def _own(db: AsyncSession, viewer: Viewer, request_id: int) -> tuple[RequestView, bool]:
    """The request, if the viewer is in its project, and whether they may cancel it."""
    try:
        view = await equipment.get(db, request_id)
    except NotFound:
        raise PageNotFound(viewer) from None
    role = await projects.role_of(db, view.project_id, viewer.member_id)
    if role is None:
        raise PageNotFound(viewer)
    may_cancel = view.status in CANCELLABLE and (
        role == LEADER or view.requested_by == viewer.member_id
    )
    return view, may_cancel


async def _request_page(
    request: Request,
    viewer: Viewer,
    db: AsyncSession,
    request_id: int,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    view, may_cancel = await _own(db, viewer, request_id)
    context = {
        "req": view,
        "decision_note": decision_note(view.decision_note, viewer.formats),
        "may_cancel": may_cancel,
        "error": error,
    }
    return render(request, viewer, "lending/request.html", context, status=status)


@router.get(LIST + "/{request_id}")
async def request_page(
    request: Request, viewer: MemberViewerDep, db: DbDep, request_id: Id
) -> Response:
    """The request: item, project, period, status and the technician's decision."""
    return await _request_page(request, viewer, db, request_id)


@router.post(LIST + "/{request_id}/cancel")
async def cancel(
    request: Request, viewer: MemberViewerDep, db: DbDep, clock: ClockDep, request_id: Id
) -> Response:
    """Withdraw the request; the item is free again for others."""
    await _own(db, viewer, request_id)
    try:
        async with db.begin_nested():
            await equipment.cancel(db, acting(viewer), request_id, now=clock.now())
    except DomainError as error:
        said = refusal(error, viewer.formats)
        return await _request_page(request, viewer, db, request_id, error=said, status=error.status)
    _ = gettext_for(viewer.language)
    notify(request, _("Request cancelled."))
    return RedirectResponse(page_of(request_id), status_code=303)
