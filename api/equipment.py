"""Equipment requests over HTTP: members of an active project ask for a rental item for a
period and may withdraw (`/api/v1/me/requests`), and see when items are free
(`/api/v1/me/rental-items`); lab technicians decide (`/api/v1/lab/requests`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.rentals import TidPath
from api.auth import ClockDep
from api.deps import DbDep
from api.fields import Id, PagingDep, refusals
from api.lending import (
    Approval,
    Cancellation,
    MemberActingDep,
    Moment,
    NewRequest,
    Out,
    Rejection,
    RequestOut,
    RequestPage,
    TechnicianActingDep,
    lab_router,
    members_router,
    not_yours,
)
from core import equipment, projects, rentals, reservations
from core.equipment import MAX_PERIOD, RequestView
from core.errors import InvalidPeriod
from core.models.projects import REQUEST_STATUSES
from core.projects import Acting

mine = members_router("", "equipment requests")
lab = lab_router("/requests", "equipment requests")
RequestStatus = Annotated[
    list[Annotated[str, Field(pattern=f"^({'|'.join(REQUEST_STATUSES)})$")]],
    Query(description="Only these statuses (repeat the parameter for more than one)."),
]
REFUSED = refusals(
    404,
    {
        409: "The item is reserved or out then (`item_reserved` with `until`, `item_rented`), "
        "or the project is not active (`project_not_active`), or the request is not in the "
        "status this needs (`invalid_transition`).",
        400: "The period is empty, too long or in the past (`invalid_period`).",
    },
)


class RentalItemOut(Out):
    tid: str
    name: str
    description: str | None
    out: bool = Field(description="Someone has it now.")


class ReservedPeriod(Out):
    starts_at: datetime
    ends_at: datetime
    status: str


class AvailabilityOut(BaseModel):
    tid: str
    name: str
    free: bool = Field(description="A request for exactly this period would be accepted now.")
    out_since: datetime | None = Field(description="Since when it is out, if it is.")
    reserved: list[ReservedPeriod] = Field(description="Its reservations in the period.")


async def _own_request(db: AsyncSession, acting: Acting, request_id: int) -> RequestView:
    """The request if the acting member is in its project; 404 otherwise."""
    view = await equipment.get(db, request_id)
    if await projects.role_of(db, view.project_id, acting.member_id) is None:
        raise not_yours("equipment request", request_id)
    return view


@mine.get("/rental-items")
async def rental_items(db: DbDep) -> list[RentalItemOut]:
    """The items in service that a project can request, by TID."""
    return [RentalItemOut.model_validate(i) for i in await rentals.listing(db) if i.active]


@mine.get(
    "/rental-items/{tid}/availability",
    responses=refusals(404, {400: "The period is empty or longer than 90 days."}),
)
async def availability(
    tid: TidPath,
    db: DbDep,
    clock: ClockDep,
    starts_at: Annotated[Moment, Query()],
    ends_at: Annotated[Moment, Query()],
) -> AvailabilityOut:
    """When the item is reserved within [starts_at, ends_at) (at most 90 days), whether it is
    out now, and whether a request for that period would be accepted."""
    if not (starts_at < ends_at and ends_at - starts_at <= MAX_PERIOD):
        raise InvalidPeriod(f"a period ends after it starts, within {MAX_PERIOD.days} days")
    found = await reservations.availability(db, tid, starts_at, ends_at, now=clock.now())
    return AvailabilityOut(
        tid=found.item.tid,
        name=found.item.name,
        free=found.free,
        out_since=found.out_since,
        reserved=[ReservedPeriod.model_validate(r) for r in found.reservations],
    )


@mine.get("/requests")
async def my_requests(acting: MemberActingDep, db: DbDep, paging: PagingDep) -> RequestPage:
    """The requests of every project you are in, newest first."""
    assert acting.member_id is not None
    page = await equipment.of_member(
        db, acting.member_id, limit=paging.limit, before_id=paging.before_id
    )
    return RequestPage.model_validate(page)


@mine.post("/requests", status_code=status.HTTP_201_CREATED, responses=REFUSED)
async def create_request(
    body: NewRequest, acting: MemberActingDep, db: DbDep, clock: ClockDep
) -> RequestOut:
    """Ask for an item for a project you are in (it must be active) for a period; it is
    pending until a lab technician approves it."""
    made = await equipment.request(
        db,
        acting,
        project_id=body.project_id,
        item=body.tid,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        now=clock.now(),
        note=body.note,
    )
    return RequestOut.model_validate(made)


@mine.get("/requests/{request_id}", responses=refusals({404: "No request of your projects."}))
async def my_request(request_id: Id, acting: MemberActingDep, db: DbDep) -> RequestOut:
    """One request of a project you are in."""
    return RequestOut.model_validate(await _own_request(db, acting, request_id))


@mine.post("/requests/{request_id}/cancel", responses=REFUSED)
async def cancel(
    request_id: Id, body: Cancellation, acting: MemberActingDep, db: DbDep, clock: ClockDep
) -> RequestOut:
    """Withdraw a pending or approved request: yours, or any of a project you lead."""
    await _own_request(db, acting, request_id)
    cancelled = await equipment.cancel(db, acting, request_id, now=clock.now(), note=body.note)
    return RequestOut.model_validate(cancelled)


@lab.get("")
async def lab_requests(
    db: DbDep,
    paging: PagingDep,
    status: RequestStatus = ["pending"],  # noqa: B006 - FastAPI copies it
) -> RequestPage:
    """Requests in these statuses, newest first: by default those waiting for a decision;
    `status=checked_out&status=overdue` lists the items out."""
    page = await equipment.by_status(
        db, tuple(status), limit=paging.limit, before_id=paging.before_id
    )
    return RequestPage.model_validate(page)


@lab.get("/{request_id}", responses=refusals(404))
async def lab_request(request_id: Id, db: DbDep) -> RequestOut:
    """Any equipment request."""
    return RequestOut.model_validate(await equipment.get(db, request_id))


@lab.post("/{request_id}/approve", responses=REFUSED)
async def approve(
    request_id: Id, body: Approval, acting: TechnicianActingDep, db: DbDep, clock: ClockDep
) -> RequestOut:
    """Approve a pending request if the item is still free for its period: it is reserved for
    the project then; the requester is told."""
    approved = await equipment.approve(db, acting, request_id, now=clock.now(), note=body.note)
    return RequestOut.model_validate(approved)


@lab.post("/{request_id}/reject", responses=REFUSED)
async def reject(
    request_id: Id, body: Rejection, acting: TechnicianActingDep, db: DbDep, clock: ClockDep
) -> RequestOut:
    """Reject a pending request, saying why; it is kept with the reason."""
    rejected = await equipment.reject(db, acting, request_id, reason=body.reason, now=clock.now())
    return RequestOut.model_validate(rejected)
