"""Equipment requests: a project asks for one rental item for a period, a technician decides.

A member of an active project requests an active item for [starts_at, ends_at): at most
MAX_PERIOD long, starting no earlier than START_GRACE ago, and refused while the item is
reserved for an overlapping period or out now (core/reservations.py). A request moves
pending → approved | rejected | cancelled, approved → checked_out → returned (at the stations),
approved | checked_out → overdue (the sweep) and overdue → returned. The requester or a project
leader may cancel while it is pending or approved. Approving re-checks the item under a lock on
its row, so two overlapping requests for one item are never both approved. Nothing is deleted:
a rejection keeps its reason. Every move is one audit row, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, notifications, projects, reservations
from core.clock import rfc3339
from core.db import run
from core.errors import (
    InvalidPeriod,
    InvalidTransition,
    NotAuthorized,
    NotFound,
    ProjectNotActive,
    UnknownItem,
)
from core.models import EquipmentRequest, Member, Project, ProjectMember, RentalItem
from core.notifications import JsonValue, Kind
from core.paging import Page, by_id, fetch_page, newest_first
from core.projects import LEADER, Acting

MAX_PERIOD = timedelta(days=90)
# A form filled in a few minutes ago may ask for "from now".
START_GRACE = timedelta(minutes=5)
# "Due tomorrow": the reminder goes out once, this long before the end.
DUE_SOON = timedelta(hours=24)
SWEEP_BATCH = 200
_R = EquipmentRequest
# Why the sweep cancelled a request that reached its end, by the status it had.
EXPIRED_NOTES = {
    "approved": "ended without the item being taken out",
    "pending": "ended before it was decided",
}


@dataclass(frozen=True)
class RequestView:
    id: int
    project_id: int
    project_name: str
    item_id: int
    tid: str
    item_name: str
    requested_by: int
    requester_name: str
    starts_at: datetime
    ends_at: datetime
    status: str
    note: str | None
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    rental_id: int | None
    reminded_at: datetime | None


_VIEW = (
    select(
        _R.id,
        _R.project_id,
        Project.name.label("project_name"),
        _R.item_id,
        RentalItem.tid,
        RentalItem.name.label("item_name"),
        _R.requested_by,
        Member.name.label("requester_name"),
        _R.starts_at,
        _R.ends_at,
        _R.status,
        _R.note,
        _R.created_at,
        _R.decided_by,
        _R.decided_at,
        _R.decision_note,
        _R.rental_id,
        _R.reminded_at,
    )
    .join(Project, Project.id == _R.project_id)
    .join(RentalItem, RentalItem.id == _R.item_id)
    .join(Member, Member.id == _R.requested_by)
)


def _data(view: RequestView) -> dict[str, JsonValue]:
    """What a notification about the request is worded from."""
    return {
        "request_id": view.id,
        "project": view.project_name,
        "item": view.item_name,
        "starts_at": rfc3339(view.starts_at),
        "ends_at": rfc3339(view.ends_at),
    }


def check_period(starts_at: datetime, ends_at: datetime, *, now: datetime) -> None:
    """InvalidPeriod unless the period ends after it starts, lasts at most MAX_PERIOD and
    starts no earlier than START_GRACE ago."""
    if ends_at <= starts_at:
        raise InvalidPeriod("the period must end after it starts")
    if ends_at - starts_at > MAX_PERIOD:
        raise InvalidPeriod(f"a request is for at most {MAX_PERIOD.days} days")
    if starts_at < now - START_GRACE:
        raise InvalidPeriod("the period cannot start in the past")


async def get(db: AsyncSession, request_id: int) -> RequestView:
    """One request; NotFound if there is none."""
    row = (await run(db, _VIEW.where(_R.id == request_id))).one_or_none()
    if row is None:
        raise NotFound(f"no equipment request {request_id}")
    return RequestView(**row._mapping)


async def _page(
    db: AsyncSession, which: ColumnElement[bool], limit: int, before_id: int | None
) -> Page[RequestView]:
    async def fetch(count: int) -> list[RequestView]:
        paged = newest_first(_VIEW.where(which), _R.id, before_id=before_id, limit=count)
        return [RequestView(**row._mapping) for row in (await run(db, paged)).all()]

    return await fetch_page(fetch, limit, by_id)


async def of_member(
    db: AsyncSession, member_id: int, *, limit: int, before_id: int | None = None
) -> Page[RequestView]:
    """The requests of every project the member is in, newest first."""
    mine = select(ProjectMember.project_id).where(ProjectMember.member_id == member_id)
    return await _page(db, _R.project_id.in_(mine), limit, before_id)


async def of_project(
    db: AsyncSession, project_id: int, *, limit: int, before_id: int | None = None
) -> Page[RequestView]:
    """The project's requests, newest first."""
    return await _page(db, _R.project_id == project_id, limit, before_id)


async def by_status(
    db: AsyncSession, statuses: tuple[str, ...], *, limit: int, before_id: int | None = None
) -> Page[RequestView]:
    """Requests in these statuses, newest first: the technicians' queue ("pending"), the
    items out ("checked_out", "overdue")."""
    return await _page(db, _R.status.in_(statuses), limit, before_id)


async def request(
    db: AsyncSession,
    acting: Acting,
    *,
    project_id: int,
    item: int | str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    note: str | None = None,
) -> RequestView:
    """A project member asks for an item (by id or TID) for a period; the technicians hear."""
    project = await projects.get(db, project_id)
    if acting.member_id is None or project.role_of(acting.member_id) is None:
        raise NotAuthorized("only the project's members can request equipment for it")
    if project.status != "active":
        raise ProjectNotActive(
            f"project is {project.status}; only active projects can request equipment"
        )
    check_period(starts_at, ends_at, now=now)
    found = await reservations.find_item(db, item)
    if not found.active:
        raise UnknownItem(f"{found.name} is out of service")
    refused = await reservations.refusal(db, found, starts_at, ends_at, now=now)
    if refused is not None:
        raise refused
    text = projects.checked_note(note)
    request_id = (
        await run(
            db,
            insert(_R)
            .values(
                project_id=project_id,
                item_id=found.id,
                requested_by=acting.member_id,
                starts_at=starts_at,
                ends_at=ends_at,
                status="pending",
                note=text,
                created_at=now,
            )
            .returning(_R.id),
        )
    ).scalar_one()
    view = await get(db, request_id)
    await audit.EQUIPMENT_REQUEST.record(
        db, view.id, "request", actor=acting.actor, now=now, new="pending", note=text
    )
    data = {**_data(view), "by": view.requester_name}
    link = f"/lab/requests/{request_id}"
    await notifications.notify_technicians(db, Kind.REQUEST_SUBMITTED, data, link, now)
    return view


async def approve(
    db: AsyncSession, acting: Acting, request_id: int, *, now: datetime, note: str | None = None
) -> RequestView:
    """A technician approves a pending request if the item is still free for its period."""
    if not acting.is_technician:
        raise NotAuthorized("only a lab technician can approve a request")
    view = await get(db, request_id)
    # The item's row lock orders approvals (and rentals) of one item: the checks below see
    # every approval that went before.
    item = await reservations.find_item(db, view.item_id, lock=True)
    view = await get(db, request_id)
    _expect(view, ("pending",), "approved")
    status = await db.scalar(select(Project.status).where(Project.id == view.project_id))
    if status != "active":
        raise ProjectNotActive(f"project is {status}; only active projects can borrow")
    if view.ends_at <= now:
        raise InvalidPeriod("the request's period is over")
    refused = await reservations.refusal(
        db, item, view.starts_at, view.ends_at, now=now, besides=request_id
    )
    if refused is not None:
        raise refused
    view = await _decide(db, acting, view, "approve", "approved", now, projects.checked_note(note))
    link = f"/me/requests/{request_id}"
    await notifications.notify_member(
        db, view.requested_by, Kind.REQUEST_APPROVED, _data(view), link, now
    )
    return view


async def reject(
    db: AsyncSession, acting: Acting, request_id: int, *, reason: str, now: datetime
) -> RequestView:
    """A technician rejects a pending request, saying why; the request is kept."""
    if not acting.is_technician:
        raise NotAuthorized("only a lab technician can reject a request")
    reason = projects.required_reason(reason)
    view = await get(db, request_id)
    _expect(view, ("pending",), "rejected")
    view = await _decide(db, acting, view, "reject", "rejected", now, reason)
    data = {**_data(view), "reason": reason}
    link = f"/me/requests/{request_id}"
    await notifications.notify_member(db, view.requested_by, Kind.REQUEST_REJECTED, data, link, now)
    return view


async def cancel(
    db: AsyncSession, acting: Acting, request_id: int, *, now: datetime, note: str | None = None
) -> RequestView:
    """The requester or a project leader withdraws a pending or approved request."""
    view = await get(db, request_id)
    mine = acting.member_id is not None and acting.member_id == view.requested_by
    if not mine and await projects.role_of(db, view.project_id, acting.member_id) != LEADER:
        raise NotAuthorized("only the requester or a project leader can cancel a request")
    _expect(view, ("pending", "approved"), "cancelled")
    await _move(db, view, "cancelled", {})
    await audit.EQUIPMENT_REQUEST.record(
        db,
        view.id,
        "cancel",
        actor=acting.actor,
        now=now,
        old=view.status,
        new="cancelled",
        note=projects.checked_note(note),
    )
    return await get(db, request_id)


def _expect(view: RequestView, allowed: tuple[str, ...], new: str) -> None:
    if view.status not in allowed:
        raise InvalidTransition(
            f"request is {view.status}; only {' or '.join(allowed)} requests can be {new}"
        )


async def _move(db: AsyncSession, view: RequestView, new: str, values: dict[str, object]) -> None:
    """Conditional on the status read: of two decisions at once, one is made."""
    moved = await run(
        db,
        update(_R).where(_R.id == view.id, _R.status == view.status).values(status=new, **values),
    )
    if not moved.rowcount:
        _expect(await get(db, view.id), (view.status,), new)


async def _decide(
    db: AsyncSession,
    acting: Acting,
    view: RequestView,
    action: str,
    new: str,
    now: datetime,
    note: str | None,
) -> RequestView:
    decision = {"decided_by": acting.subject, "decided_at": now, "decision_note": note}
    await _move(db, view, new, decision)
    await audit.EQUIPMENT_REQUEST.record(
        db, view.id, action, actor=acting.actor, now=now, old=view.status, new=new, note=note
    )
    return await get(db, view.id)


@dataclass(frozen=True)
class Swept:
    overdue: int
    reminded: int
    expired: int = 0


async def sweep(db: AsyncSession, *, now: datetime) -> Swept:
    """Make requests whose item is out past their end overdue, remind once of those due back
    within DUE_SOON, and cancel those that end without the item ever taken out (approved) or
    without a decision (pending): they reserve nothing any more. Their requesters hear of each.
    Rows another worker holds are skipped."""
    stale = await _locked(db, _R.status.in_(("pending", "approved")), _R.ends_at <= now)
    for view in stale:
        note = EXPIRED_NOTES[view.status]
        await _move(db, view, "cancelled", {"decision_note": note})
        await audit.EQUIPMENT_REQUEST.record(
            db,
            view.id,
            "expire",
            actor=audit.SYSTEM,
            now=now,
            old=view.status,
            new="cancelled",
            note=note,
        )
        link = f"/me/requests/{view.id}"
        await notifications.notify_member(
            db, view.requested_by, Kind.REQUEST_EXPIRED, _data(view), link, now
        )
    late = await _locked(db, _R.status == "checked_out", _R.ends_at <= now)
    for view in late:
        await _move(db, view, "overdue", {})
        await audit.EQUIPMENT_REQUEST.record(
            db, view.id, "overdue", actor=audit.SYSTEM, now=now, old=view.status, new="overdue"
        )
        link = f"/me/requests/{view.id}"
        await notifications.notify_member(
            db, view.requested_by, Kind.REQUEST_OVERDUE, _data(view), link, now
        )
    due = await _locked(
        db,
        _R.status == "checked_out",
        _R.reminded_at.is_(None),
        _R.ends_at > now,
        _R.ends_at <= now + DUE_SOON,
    )
    for view in due:
        await run(db, update(_R).where(_R.id == view.id).values(reminded_at=now))
        link = f"/me/requests/{view.id}"
        await notifications.notify_member(
            db, view.requested_by, Kind.REQUEST_DUE, _data(view), link, now
        )
    return Swept(overdue=len(late), reminded=len(due), expired=len(stale))


async def _locked(db: AsyncSession, *which: ColumnElement[bool]) -> list[RequestView]:
    locked = _VIEW.where(*which).order_by(_R.ends_at).limit(SWEEP_BATCH)
    rows = await run(db, locked.with_for_update(of=_R, skip_locked=True))
    return [RequestView(**row._mapping) for row in rows.all()]
