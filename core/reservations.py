"""When a rental item is reserved for a project, and what the rental stations make of it.

An approved equipment request reserves its item for [starts_at, ends_at) — as do one that is
checked out and one that is overdue. During that period only the project's members may rent the
item at a station (others get `item_reserved` with `until`); they need no rental permission of
their own, the technician's approval is theirs. Renting it then checks the request out; giving
it back at any station returns it. A rental without a request has no end: while the item is out,
a period that starts within the hour is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.audit import Actor
from core.clock import rfc3339
from core.db import run
from core.errors import DomainError, ItemRented, ItemReserved, UnknownItem
from core.models import Device, EquipmentRequest, Project, ProjectMember, Rental, RentalItem

RESERVING = ("approved", "checked_out", "overdue")
# An item out now (with no end) blocks a period that starts sooner than this.
OUT_NOW_WINDOW = timedelta(hours=1)
_R = EquipmentRequest


@dataclass(frozen=True)
class Item:
    id: int
    tid: str
    name: str
    active: bool


@dataclass(frozen=True)
class Reservation:
    """A period the item is reserved for, and by which project."""

    request_id: int
    project_id: int
    project_name: str
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True)
class Availability:
    """The item over a window: its reservations there, since when it is out (if it is), and
    whether a request for exactly that window would be accepted now."""

    item: Item
    reservations: list[Reservation]
    out_since: datetime | None
    free: bool


async def find_item(db: AsyncSession, item: int | str, *, lock: bool = False) -> Item:
    """An item by id or TID, active or not; with `lock`, its row is locked `FOR UPDATE`
    (SQLite serialises writers anyway), which orders approvals and rentals of one item."""
    key = RentalItem.id == item if isinstance(item, int) else RentalItem.tid == item.upper()
    statement = select(RentalItem.id, RentalItem.tid, RentalItem.name, RentalItem.active)
    if lock:
        statement = statement.with_for_update()
    row = (await run(db, statement.where(key))).one_or_none()
    if row is None:
        raise UnknownItem(_unknown(item))
    return Item(**row._mapping)


def _unknown(item: int | str) -> str:
    return f"no rental item {item}" if isinstance(item, int) else f"no rental item has TID {item}"


async def reservations(
    db: AsyncSession, item_id: int, starts_at: datetime, ends_at: datetime
) -> list[Reservation]:
    """The item's reserved periods that overlap [starts_at, ends_at), in time order."""
    rows = await run(
        db,
        select(
            _R.id.label("request_id"),
            _R.project_id,
            Project.name.label("project_name"),
            _R.starts_at,
            _R.ends_at,
            _R.status,
        )
        .join(Project, Project.id == _R.project_id)
        .where(
            _R.item_id == item_id,
            _R.status.in_(RESERVING),
            _R.starts_at < ends_at,
            _R.ends_at > starts_at,
        )
        .order_by(_R.starts_at, _R.id),
    )
    return [Reservation(**row._mapping) for row in rows.all()]


async def _out_since(db: AsyncSession, item_id: int) -> datetime | None:
    statement = select(Rental.rented_at).where(
        Rental.item_id == item_id, Rental.returned_at.is_(None)
    )
    return (await run(db, statement)).scalar_one_or_none()


async def refusal(
    db: AsyncSession,
    item: Item,
    starts_at: datetime,
    ends_at: datetime,
    *,
    now: datetime,
    besides: int | None = None,
) -> DomainError | None:
    """Why the item cannot be reserved for the period (the request `besides` aside), or None."""
    taken = [
        r for r in await reservations(db, item.id, starts_at, ends_at) if r.request_id != besides
    ]
    if taken:
        first = taken[0]
        return ItemReserved(
            f"{item.name} is reserved from {rfc3339(first.starts_at)} until "
            f"{rfc3339(first.ends_at)}",
            until=rfc3339(first.ends_at),
        )
    since = await _out_since(db, item.id)
    if since is not None and starts_at < now + OUT_NOW_WINDOW:
        return ItemRented(f"{item.name} is out now", since=rfc3339(since))
    return None


async def availability(
    db: AsyncSession, item: int | str, starts_at: datetime, ends_at: datetime, *, now: datetime
) -> Availability:
    """The item over [starts_at, ends_at), for the request page."""
    found = await find_item(db, item)
    if not found.active:
        raise UnknownItem(_unknown(item))
    return Availability(
        item=found,
        reservations=await reservations(db, found.id, starts_at, ends_at),
        out_since=await _out_since(db, found.id),
        free=await refusal(db, found, starts_at, ends_at, now=now) is None,
    )


@dataclass(frozen=True)
class Hold:
    """The reservation in force on an item at a moment."""

    request_id: int
    project_id: int
    status: str
    ends_at: datetime


async def admit(db: AsyncSession, *, item: Item, member_id: int, now: datetime) -> Hold | None:
    """The reservation in force if the member is in its project (None when there is none);
    `item_reserved` with `until` for anyone else."""
    row = (
        await run(
            db,
            select(_R.id.label("request_id"), _R.project_id, _R.status, _R.ends_at)
            .where(
                _R.item_id == item.id,
                _R.status.in_(RESERVING),
                _R.starts_at <= now,
                _R.ends_at > now,
            )
            .order_by(_R.starts_at)
            .limit(1),
        )
    ).one_or_none()
    if row is None:
        return None
    hold = Hold(**row._mapping)
    member = select(ProjectMember.member_id).where(
        ProjectMember.project_id == hold.project_id, ProjectMember.member_id == member_id
    )
    if (await run(db, member)).one_or_none() is None:
        until = rfc3339(hold.ends_at)
        raise ItemReserved(f"{item.name} is reserved until {until}", until=until)
    return hold


@dataclass(frozen=True)
class _AtStation:
    """A request moved by a station's rental: the audit row names the station."""

    device_id: int
    rental_id: int
    now: datetime

    async def record(
        self, db: AsyncSession, request_id: int, action: str, old: str, new: str
    ) -> None:
        slug = await db.scalar(select(Device.slug).where(Device.id == self.device_id))
        await audit.EQUIPMENT_REQUEST.record(
            db,
            request_id,
            action,
            actor=Actor.device(str(slug)),
            now=self.now,
            old=old,
            new=new,
            note=f"rental {self.rental_id}",
        )


async def check_out(
    db: AsyncSession, hold: Hold, *, rental_id: int, device_id: int, now: datetime
) -> None:
    """The item went out under its approved request: the request is checked out."""
    moved = await run(
        db,
        update(_R)
        .where(_R.id == hold.request_id, _R.status == "approved")
        .values(status="checked_out", rental_id=rental_id),
    )
    if moved.rowcount:
        at = _AtStation(device_id, rental_id, now)
        await at.record(db, hold.request_id, "check_out", "approved", "checked_out")


async def returned(
    db: AsyncSession, *, item_id: int, rental_id: int, device_id: int, now: datetime
) -> None:
    """The rental ended: a request it was out under (checked out or overdue) is returned."""
    # Locked, so that the sweep (which skips locked rows) does not make it overdue meanwhile.
    taken = (
        select(_R.id, _R.status)
        .where(
            _R.item_id == item_id,
            _R.status.in_(("checked_out", "overdue")),
            _R.rental_id == rental_id,
        )
        .with_for_update()
    )
    at = _AtStation(device_id, rental_id, now)
    for row in (await run(db, taken)).all():
        await run(db, update(_R).where(_R.id == row.id).values(status="returned"))
        await at.record(db, row.id, "return", row.status, "returned")
