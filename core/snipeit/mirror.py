"""Rental items mirrored from Snipe-IT's hardware list, keyed by the asset id.

Snipe-IT is the source of a mirrored item: its name, its TID (from the configured custom
field) and whether it can be rented (a deployable asset that is not deleted) follow the asset
at every sync. Nothing is deleted: an item whose asset left the list is deactivated, and its
rentals stay. An asset that cannot be mirrored (no TID, a TID another item has) is reported and
the others go on. An item registered in makerbus itself is never taken over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.db import run
from core.formats import NAME_MAX
from core.models import RentalItem
from core.rentals import normalize_tid
from core.snipeit.client import Asset
from core.text import check_one_line


@dataclass(frozen=True)
class Change:
    """An item the sync created, updated (`what` says which fields) or deactivated."""

    asset_id: int
    tid: str
    name: str
    what: str


@dataclass(frozen=True)
class Problem:
    """An asset left as it was, and why."""

    asset_id: int
    name: str
    text: str


@dataclass
class Mirrored:
    created: list[Change] = field(default_factory=list)
    updated: list[Change] = field(default_factory=list)
    deactivated: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unchanged: int = 0


def _name(asset: Asset) -> str:
    return check_one_line(" ".join(asset.name.split())[:NAME_MAX])


async def _write(db: AsyncSession, statement: Executable) -> bool:
    """Whether the write held; a unique index saying no (another sync at the same moment)
    leaves the transaction usable."""
    try:
        async with db.begin_nested():
            await run(db, statement)
    except IntegrityError:
        return False
    return True


_ITEMS = select(
    RentalItem.id, RentalItem.tid, RentalItem.name, RentalItem.active, RentalItem.snipeit_asset_id
)


def _changes(item: Row[Any], tid: str, name: str, active: bool) -> list[str]:
    return [
        label
        for label, differs in (
            ("TID", item.tid != tid),
            ("name", item.name != name),
            ("active" if active else "inactive", item.active != active),
        )
        if differs
    ]


async def mirror(db: AsyncSession, assets: Sequence[Asset], *, now: datetime) -> Mirrored:
    """Create or update an item for each listed asset; deactivate those no longer listed."""
    items = (await run(db, _ITEMS)).all()
    by_asset = {item.snipeit_asset_id: item for item in items if item.snipeit_asset_id}
    # Who holds each TID: an asset id, or None for an item registered in makerbus.
    holders: dict[str, int | None] = {item.tid: item.snipeit_asset_id for item in items}
    outcome = Mirrored()

    def refuse(asset: Asset, text: str) -> None:
        outcome.problems.append(Problem(asset.id, asset.name, text))

    for asset in assets:
        try:
            tid, name = normalize_tid(asset.tag or ""), _name(asset)
        except ValueError as error:
            refuse(asset, "no TID in its tag field" if asset.tag is None else str(error))
            continue
        holder = holders.get(tid, asset.id)
        if holder != asset.id:
            by = "an item registered in makerbus" if holder is None else f"asset {holder}"
            refuse(asset, f"TID {tid} is taken by {by}")
            continue
        mine = by_asset.get(asset.id)
        changed = ["created"] if mine is None else _changes(mine, tid, name, asset.active)
        if not changed:
            outcome.unchanged += 1
            continue
        values = {"tid": tid, "name": name, "active": asset.active}
        written = (
            insert(RentalItem).values(**values, created_at=now, snipeit_asset_id=asset.id)
            if mine is None
            else update(RentalItem).where(RentalItem.id == mine.id).values(**values)
        )
        if not await _write(db, written):
            refuse(asset, f"TID {tid} was taken at the same moment")
            continue
        if mine is not None:
            holders.pop(mine.tid, None)
        holders[tid] = asset.id
        change = Change(asset.id, tid, name, ", ".join(changed))
        (outcome.created if mine is None else outcome.updated).append(change)
        old = (
            None if mine is None else audit.values(tid=mine.tid, name=mine.name, active=mine.active)
        )
        new = audit.values(tid=tid, name=name, active=asset.active)
        await _record(
            db, change, "mirror_create" if mine is None else "mirror_update", old, new, now
        )

    listed = {asset.id for asset in assets}
    gone = [item for asset_id, item in by_asset.items() if asset_id not in listed and item.active]
    for item in gone:
        await run(db, update(RentalItem).where(RentalItem.id == item.id).values(active=False))
        change = Change(item.snipeit_asset_id, item.tid, item.name, "no longer listed")
        outcome.deactivated.append(change)
        old, new = audit.values(active=True), audit.values(active=False)
        await _record(db, change, "mirror_deactivate", old, new, now)
    return outcome


async def _record(
    db: AsyncSession, change: Change, action: str, old: str | None, new: str, now: datetime
) -> None:
    """The sync's change in the audit trail, by the system, naming the asset."""
    note = f"Snipe-IT asset {change.asset_id}: {change.what}"
    await audit.RENTAL_ITEM.record(
        db, change.tid, action, actor=audit.SYSTEM, now=now, old=old, new=new, note=note
    )
