"""Rental items with UHF tags, who may rent them, and renting and returning at stations.

An item is out to one member at a time: the partial unique index on open rentals decides, so two
stations racing for one item cannot both win. An inactive item cannot be rented, but one that is
still out can be seen and returned, so that deactivating never strands an item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, cards, reservations
from core.audit import Actor
from core.clock import rfc3339
from core.db import run
from core.errors import (
    Conflict,
    ItemNotRented,
    ItemRented,
    NotAuthorized,
    NotFound,
    UnknownItem,
)
from core.formats import NAME_MAX, TID_PATTERN
from core.models import Member, Rental, RentalItem, RentalPermission
from core.paging import newest_first

_TID = re.compile(TID_PATTERN)
_IS_OPEN = Rental.returned_at.is_(None)
_STATUS_COLUMNS = (
    RentalItem.id.label("item_id"),
    RentalItem.tid,
    RentalItem.name,
    RentalItem.description,
    RentalItem.active,
    Rental.id.label("rental_id"),
    Rental.rented_at.label("since"),
)


def normalize_tid(raw: str) -> str:
    """A UHF tag id as stored: upper-case hex, 8-64 characters, or ValueError."""
    tid = raw.strip().upper()
    if not _TID.match(tid):
        raise ValueError("a TID is 8-64 characters of hex")
    return tid


@dataclass(frozen=True)
class ItemStatus:
    """An item and its open rental, if any."""

    item_id: int
    tid: str
    name: str
    description: str | None
    active: bool
    rental_id: int | None
    since: datetime | None

    @property
    def out(self) -> bool:
        return self.rental_id is not None


@dataclass(frozen=True)
class Rented:
    rental_id: int
    tid: str
    name: str
    since: datetime


@dataclass(frozen=True)
class Returned:
    rental_id: int
    tid: str
    name: str
    member_id: int
    duration_s: int


@dataclass(frozen=True)
class ItemRecord(ItemStatus):
    """An item as the operator sees it: its status, and who has it while it is out."""

    member_id: int | None
    member_name: str | None


def _seconds_out(rented_at: datetime, returned_at: datetime) -> int:
    return max(0, int((returned_at - rented_at).total_seconds()))


async def _lookup(db: AsyncSession, tid: str) -> ItemStatus | None:
    row = (
        await run(
            db,
            select(*_STATUS_COLUMNS)
            .outerjoin(Rental, and_(Rental.item_id == RentalItem.id, _IS_OPEN))
            .where(RentalItem.tid == tid),
        )
    ).one_or_none()
    return None if row is None else ItemStatus(**row._mapping)


async def status(db: AsyncSession, tid: str) -> ItemStatus:
    """The item and whether and since when it is out; an inactive item only while it is out."""
    found = await _lookup(db, tid)
    if found is None or not (found.active or found.out):
        raise UnknownItem(f"no rental item has TID {tid}")
    return found


async def rent(
    db: AsyncSession, *, device_id: int, card_uid: str, tid: str, now: datetime
) -> Rented:
    """Lend an active item to the card's member, who needs a rental permission; while a
    project has it reserved, only to that project's members (who need none)."""
    holder = await cards.identify(db, card_uid)
    # Locked: an approval of a request for the item waits for this rental, and the other way.
    item = await reservations.find_item(db, tid, lock=True)
    if not item.active:
        raise UnknownItem(f"no rental item has TID {tid}")
    hold = await reservations.admit(db, item=item, member_id=holder.member_id, now=now)
    permission = select(RentalPermission.member_id).where(
        RentalPermission.member_id == holder.member_id
    )
    if hold is None and (await run(db, permission)).one_or_none() is None:
        raise NotAuthorized("this member may not rent items")
    try:
        # The savepoint keeps the transaction usable when the open-rental index says no.
        async with db.begin_nested():
            rental_id = (
                await run(
                    db,
                    insert(Rental)
                    .values(
                        item_id=item.id,
                        member_id=holder.member_id,
                        device_id=device_id,
                        rented_at=now,
                    )
                    .returning(Rental.id),
                )
            ).scalar_one()
    except IntegrityError:
        since = (
            await run(db, select(Rental.rented_at).where(Rental.item_id == item.id, _IS_OPEN))
        ).scalar_one_or_none()
        if since is None:
            raise  # not the open-rental index: a real fault
        raise ItemRented(f"item {tid} is out already", since=rfc3339(since)) from None
    if hold is not None:
        await reservations.check_out(db, hold, rental_id=rental_id, device_id=device_id, now=now)
    return Rented(rental_id=rental_id, tid=tid, name=item.name, since=now)


async def return_item(db: AsyncSession, *, device_id: int, tid: str, now: datetime) -> Returned:
    """Close the item's open rental; any station may take a return."""
    item = (
        await run(db, select(RentalItem.id, RentalItem.name).where(RentalItem.tid == tid))
    ).one_or_none()
    if item is None:
        raise UnknownItem(f"no rental item has TID {tid}")
    # Conditional on still being open: of two returns at once, one closes it, one is refused.
    closed = (
        await run(
            db,
            update(Rental)
            .where(Rental.item_id == item.id, _IS_OPEN)
            .values(returned_at=now, return_device_id=device_id)
            .returning(Rental.id, Rental.member_id, Rental.rented_at),
        )
    ).one_or_none()
    if closed is None:
        raise ItemNotRented(f"item {tid} is not out")
    await reservations.returned(
        db, item_id=item.id, rental_id=closed.id, device_id=device_id, now=now
    )
    return Returned(
        rental_id=closed.id,
        tid=tid,
        name=item.name,
        member_id=closed.member_id,
        duration_s=_seconds_out(closed.rented_at, now),
    )


async def add_item(
    db: AsyncSession,
    *,
    tid: str,
    name: str,
    description: str | None,
    actor: Actor,
    now: datetime,
) -> ItemRecord:
    """Register an item by its tag; a TID can be registered once."""
    tid = normalize_tid(tid)
    if not name.strip() or len(name) > NAME_MAX:
        raise ValueError(f"an item needs a name of 1-{NAME_MAX} characters")
    if await db.scalar(select(RentalItem.id).where(RentalItem.tid == tid)) is not None:
        raise Conflict(f"TID {tid} is already registered")
    try:
        # Two admins registering one tag at once: the unique index decides, as a Conflict.
        async with db.begin_nested():
            item_id = (
                await run(
                    db,
                    insert(RentalItem)
                    .values(
                        tid=tid, name=name, description=description, active=True, created_at=now
                    )
                    .returning(RentalItem.id),
                )
            ).scalar_one()
    except IntegrityError:
        raise Conflict(f"TID {tid} is already registered") from None
    new = audit.values(name=name, active=True)
    await audit.RENTAL_ITEM.record(db, tid, "create", actor=actor, now=now, new=new)
    return ItemRecord(
        item_id=item_id,
        tid=tid,
        name=name,
        description=description,
        active=True,
        rental_id=None,
        since=None,
        member_id=None,
        member_name=None,
    )


async def deactivate(db: AsyncSession, tid: str, *, actor: Actor, now: datetime) -> ItemRecord:
    """Take an item out of service: no new rentals; an open one can still be returned."""
    return await _set_active(db, tid, active=False, actor=actor, now=now)


async def reactivate(db: AsyncSession, tid: str, *, actor: Actor, now: datetime) -> ItemRecord:
    """Put a deactivated item back into service."""
    return await _set_active(db, tid, active=True, actor=actor, now=now)


async def _set_active(
    db: AsyncSession, tid: str, *, active: bool, actor: Actor, now: datetime
) -> ItemRecord:
    before = await item(db, normalize_tid(tid))
    if before.active == active:
        return before
    await run(db, update(RentalItem).where(RentalItem.id == before.item_id).values(active=active))
    old, new = audit.values(active=before.active), audit.values(active=active)
    action = "activate" if active else "deactivate"
    await audit.RENTAL_ITEM.record(db, before.tid, action, actor=actor, now=now, old=old, new=new)
    return await item(db, before.tid)


async def _may_rent(db: AsyncSession, member_id: int) -> bool:
    try:
        await permission(db, member_id)
    except NotFound:
        return False
    return True


async def permit(db: AsyncSession, member_id: int, *, actor: Actor, now: datetime) -> None:
    """Let a member rent items; granting again records the new grant. NotFound for no member."""
    if await db.get(Member, member_id) is None:
        raise NotFound(f"no member {member_id}")
    had = await _may_rent(db, member_id)
    await _grant(db, member_id, granted_by=actor.ref, now=now)
    old, new = audit.values(may_rent=had), audit.values(may_rent=True)
    await audit.MEMBER.record(
        db, member_id, "permit_rentals", actor=actor, now=now, old=old, new=new
    )


async def _grant(db: AsyncSession, member_id: int, *, granted_by: str, now: datetime) -> None:
    values = {"granted_by": granted_by, "granted_at": now}
    regrant = (
        update(RentalPermission).where(RentalPermission.member_id == member_id).values(**values)
    )
    if (await run(db, regrant)).rowcount:
        return
    try:
        async with db.begin_nested():
            await run(db, insert(RentalPermission).values(member_id=member_id, **values))
    except IntegrityError:
        # Granted by another request at the same moment: this grant is recorded over it.
        await run(db, regrant)


async def revoke(db: AsyncSession, member_id: int, *, actor: Actor, now: datetime) -> bool:
    """Take the permission away (rentals already out stay out); whether there was one."""
    result = await db.execute(
        delete(RentalPermission).where(RentalPermission.member_id == member_id)
    )
    had = bool(getattr(result, "rowcount", 0))
    if had:
        old, new = audit.values(may_rent=True), audit.values(may_rent=False)
        await audit.MEMBER.record(
            db, member_id, "revoke_rentals", actor=actor, now=now, old=old, new=new
        )
    return had


_LISTING = (
    select(*_STATUS_COLUMNS, Member.id.label("member_id"), Member.name.label("member_name"))
    .outerjoin(Rental, and_(Rental.item_id == RentalItem.id, _IS_OPEN))
    .outerjoin(Member, Member.id == Rental.member_id)
)


async def listing(db: AsyncSession) -> list[ItemRecord]:
    """Every item by TID, with who has it and since when (for the operator, not for stations)."""
    rows = await run(db, _LISTING.order_by(RentalItem.tid))
    return [ItemRecord(**row._mapping) for row in rows.all()]


async def item(db: AsyncSession, tid: str) -> ItemRecord:
    """One item, active or not, with who has it (for the operator); UnknownItem if none."""
    row = (await run(db, _LISTING.where(RentalItem.tid == normalize_tid(tid)))).one_or_none()
    if row is None:
        raise UnknownItem(f"no rental item has TID {tid}")
    return ItemRecord(**row._mapping)


@dataclass(frozen=True)
class RentalRecord:
    """One rental, open or returned, with the item and the member."""

    rental_id: int
    tid: str
    item_name: str
    member_id: int
    member_name: str
    rented_at: datetime
    returned_at: datetime | None
    device_id: int | None
    return_device_id: int | None

    @property
    def duration_s(self) -> int | None:
        """How long the item was out, once it is back."""
        return None if self.returned_at is None else _seconds_out(self.rented_at, self.returned_at)


async def history(
    db: AsyncSession,
    *,
    limit: int,
    before_id: int | None = None,
    open_only: bool | None = None,
    member_id: int | None = None,
) -> list[RentalRecord]:
    """Rentals newest first: all, only open (`open_only=True`) or only returned ones (False),
    only one member's with `member_id`; at most `limit`, only ids below `before_id`."""
    statement = (
        select(
            Rental.id.label("rental_id"),
            RentalItem.tid,
            RentalItem.name.label("item_name"),
            Rental.member_id,
            Member.name.label("member_name"),
            Rental.rented_at,
            Rental.returned_at,
            Rental.device_id,
            Rental.return_device_id,
        )
        .join(RentalItem, RentalItem.id == Rental.item_id)
        .join(Member, Member.id == Rental.member_id)
    )
    if open_only is not None:
        statement = statement.where(_IS_OPEN if open_only else Rental.returned_at.is_not(None))
    if member_id is not None:
        statement = statement.where(Rental.member_id == member_id)
    statement = newest_first(statement, Rental.id, before_id=before_id, limit=limit)
    rows = await run(db, statement)
    return [RentalRecord(**row._mapping) for row in rows.all()]


@dataclass(frozen=True)
class Permission:
    """A member's rental permission: who granted it, when."""

    member_id: int
    member_name: str
    granted_by: str
    granted_at: datetime


_PERMISSIONS = select(
    RentalPermission.member_id,
    Member.name.label("member_name"),
    RentalPermission.granted_by,
    RentalPermission.granted_at,
).join(Member, Member.id == RentalPermission.member_id)


async def permission(db: AsyncSession, member_id: int) -> Permission:
    """The member's rental permission; NotFound if they have none."""
    row = (await run(db, _PERMISSIONS.where(RentalPermission.member_id == member_id))).one_or_none()
    if row is None:
        raise NotFound(f"member {member_id} has no rental permission")
    return Permission(**row._mapping)


async def permissions(db: AsyncSession) -> list[Permission]:
    """Every member who may rent, by name."""
    rows = await run(db, _PERMISSIONS.order_by(Member.name, Member.id))
    return [Permission(**row._mapping) for row in rows.all()]
