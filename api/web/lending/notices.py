"""The notifications pages: a member's own at /me/notifications, the technicians' shared inbox
at /lab/notifications; each notice worded in the page's language from what it holds, with a
link to the page it concerns and Mark as read (one, or all shown)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ClockDep
from api.deps import DbDep
from api.fields import Paging, PagingDep
from api.lending import ReadMarks
from api.pages import untranslated as _
from api.web.forms import validated
from api.web.i18n import Formats
from api.web.member import older_url
from api.web.render import gettext_for, render
from api.web.viewer import MemberViewerDep, TechnicianViewerDep, Viewer
from core import notifications
from core.notifications import Kind, NotificationView

router = APIRouter(include_in_schema=False)
MINE = "/me/notifications"
LAB = "/lab/notifications"

TEXTS: dict[str, str] = {
    Kind.PROJECT_SUBMITTED: _("%(by)s submitted the project %(project)s for approval."),
    Kind.PROJECT_APPROVED: _("The project %(project)s was approved."),
    Kind.PROJECT_REJECTED: _("The project %(project)s was rejected: %(reason)s"),
    Kind.REQUEST_SUBMITTED: _(
        "%(by)s asks for %(item)s for the project %(project)s, %(starts)s to %(ends)s."
    ),
    Kind.REQUEST_APPROVED: _(
        "Your request for %(item)s (%(project)s) was approved: %(starts)s to %(ends)s."
    ),
    Kind.REQUEST_REJECTED: _("Your request for %(item)s (%(project)s) was rejected: %(reason)s"),
    Kind.REQUEST_DUE: _("%(item)s (%(project)s) is due back by %(ends)s."),
    Kind.REQUEST_OVERDUE: _("%(item)s (%(project)s) is overdue: it was due back by %(ends)s."),
    Kind.REQUEST_EXPIRED: _(
        "Your request for %(item)s (%(project)s) was cancelled: its period ended at %(ends)s."
    ),
}


@dataclass(frozen=True)
class Notice:
    """A notification as the page shows it."""

    id: int
    text: str
    link: str | None
    created_at: datetime
    unread: bool


def worded(notice: NotificationView, formats: Formats) -> str:
    """The notice's text in the reader's language, its times in the space's zone."""
    translate = gettext_for(formats.language)
    values = {key: "" if value is None else str(value) for key, value in notice.data.items()}
    values["by"] = values.get("by") or str(translate(_("Someone")))
    for key in ("starts_at", "ends_at"):
        moment = notice.data.get(key)
        if isinstance(moment, str):
            values[key.removesuffix("_at")] = formats.datetime(
                datetime.fromisoformat(moment), "short"
            )
    text = TEXTS.get(notice.kind)
    return str(translate(text)) % values if text else notice.kind


async def _page(
    request: Request, viewer: Viewer, db: AsyncSession, paging: Paging, *, lab: bool
) -> Response:
    listed = await notifications.listing(
        db,
        member_id=None if lab else viewer.member_id,
        technicians=lab,
        limit=paging.limit,
        before_id=paging.before_id,
    )
    shown = [
        Notice(n.id, worded(n, viewer.formats), n.link, n.created_at, n.unread)
        for n in listed.items
    ]
    context = {
        "lab": lab,
        "action": (LAB if lab else MINE) + "/read",
        "notices": shown,
        "unread_ids": [n.id for n in shown if n.unread],
        "older": older_url(request, listed.next_before_id),
    }
    return render(request, viewer, "lending/notifications.html", context)


async def _mark(
    request: Request, viewer: Viewer, db: AsyncSession, now: datetime, *, lab: bool
) -> Response:
    """Mark the posted notices read, then back to the page it came from."""
    form = await request.form()
    ids = [str(value) for value in form.getlist("ids")]
    marks, _errors = validated(ReadMarks, {"ids": ids}, viewer.formats)
    if marks is not None:
        await notifications.mark_read(
            db, marks.ids, member_id=None if lab else viewer.member_id, technicians=lab, now=now
        )
    return RedirectResponse(LAB if lab else MINE, status_code=303)


@router.get(MINE)
async def my_notifications(
    request: Request, viewer: MemberViewerDep, db: DbDep, paging: PagingDep
) -> Response:
    """The member's notifications, newest first, the unread ones marked."""
    return await _page(request, viewer, db, paging, lab=False)


@router.post(MINE + "/read")
async def mark_mine_read(
    request: Request, viewer: MemberViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Mark the chosen notifications read."""
    return await _mark(request, viewer, db, clock.now(), lab=False)


@router.get(LAB)
async def lab_notifications(
    request: Request, viewer: TechnicianViewerDep, db: DbDep, paging: PagingDep
) -> Response:
    """The technicians' inbox: new projects and requests."""
    return await _page(request, viewer, db, paging, lab=True)


@router.post(LAB + "/read")
async def mark_lab_read(
    request: Request, viewer: TechnicianViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Mark the chosen notices read, for every technician."""
    return await _mark(request, viewer, db, clock.now(), lab=True)
