"""The audit trail: one row per status change of a project, request or item, and per admin
action (balance corrections, tariffs and prices, devices, PINs, stock, ...).

Who did it is an `Actor`: a person (OIDC subject and name), a device (its slug), or the system
itself (the sweep, the reaper) — never a made-up user id. A change and its audit row are written
in the same transaction, by the service that makes the change.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditEvent
from core.paging import Page, by_id, fetch_page, newest_first

NOTE_MAX = 500
VALUE_MAX = 500


@dataclass(frozen=True)
class Actor:
    kind: str  # "person" | "device" | "system"
    id: str | None = None
    name: str | None = None

    @classmethod
    def person(cls, subject: str, name: str | None = None) -> Actor:
        return cls("person", subject, name)

    @classmethod
    def device(cls, slug: str) -> Actor:
        return cls("device", slug, None)

    @classmethod
    def system(cls) -> Actor:
        return cls("system")

    @property
    def label(self) -> str:
        """How a person reads it: the name, else the subject or slug, else "system"."""
        return self.name or self.id or "system"

    @property
    def ref(self) -> str:
        """What the `actor` and `granted_by` columns that predate the trail keep: the subject
        or slug, else "system"."""
        return self.id or "system"


SYSTEM = Actor.system()


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    actor: Actor
    entity: str
    entity_id: str
    action: str
    old_value: str | None
    new_value: str | None
    note: str | None


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def values(**fields: object) -> str:
    """Values as the trail keeps them: `name=value` pairs in the order given (None: "none").

    Never pass a secret: the trail is read by every admin."""
    return " ".join(f"{name}={_shown(value)}" for name, value in fields.items())


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


@dataclass(frozen=True)
class Trail:
    """The rows about one kind of entity (`MEMBER.record(db, member_id, "set_contact", ...)`).

    Each kind is declared once below, so the filter's names and the technicians' share of the
    trail (`LENDING`) are read off one list."""

    entity: str

    async def record(
        self,
        db: AsyncSession,
        entity_id: int | str,
        action: str,
        *,
        actor: Actor,
        now: datetime,
        old: str | None = None,
        new: str | None = None,
        note: str | None = None,
    ) -> None:
        """Add one row to the trail (in the caller's transaction)."""
        db.add(
            AuditEvent(
                at=now,
                actor_kind=actor.kind,
                actor_id=actor.id,
                actor_name=actor.name,
                entity=self.entity,
                entity_id=str(entity_id),
                action=action,
                old_value=_clip(old, VALUE_MAX),
                new_value=_clip(new, VALUE_MAX),
                note=_clip(note, NOTE_MAX),
            )
        )
        await db.flush()


API_TOKEN = Trail("api_token")
CATEGORY = Trail("category")
DEVICE = Trail("device")
EQUIPMENT_REQUEST = Trail("equipment_request")
MEMBER = Trail("member")
PRODUCT = Trail("product")
PROJECT = Trail("project")
RENTAL_ITEM = Trail("rental_item")
SESSION = Trail("session")

# What a lab technician who is not an admin reads: the lending workflow's rows.
LENDING = frozenset(trail.entity for trail in (PROJECT, EQUIPMENT_REQUEST, RENTAL_ITEM))


async def events(
    db: AsyncSession,
    *,
    limit: int,
    before_id: int | None = None,
    entity: str | None = None,
    entity_id: int | str | None = None,
    actor_id: str | None = None,
    among: Collection[str] | None = None,
) -> Page[Event]:
    """The trail newest first, filtered by entity (and id) and by who (subject or slug);
    `among` keeps only rows about those kinds of entity (a technician's share)."""
    statement = select(AuditEvent)
    if among is not None:
        statement = statement.where(AuditEvent.entity.in_(among))
    if entity is not None:
        statement = statement.where(AuditEvent.entity == entity)
    if entity_id is not None:
        statement = statement.where(AuditEvent.entity_id == str(entity_id))
    if actor_id is not None:
        statement = statement.where(AuditEvent.actor_id == actor_id)

    async def fetch(count: int) -> list[Event]:
        paged = newest_first(statement, AuditEvent.id, before_id=before_id, limit=count)
        return [_event(row) for row in await db.scalars(paged)]

    return await fetch_page(fetch, limit, by_id)


async def entities(db: AsyncSession, *, among: Collection[str] | None = None) -> list[str]:
    """The kinds of entity the trail holds rows for, by name (the filter's choices)."""
    statement = select(AuditEvent.entity).distinct().order_by(AuditEvent.entity)
    if among is not None:
        statement = statement.where(AuditEvent.entity.in_(among))
    return list(await db.scalars(statement))


def _event(row: AuditEvent) -> Event:
    return Event(
        id=row.id,
        at=row.at,
        actor=Actor(row.actor_kind, row.actor_id, row.actor_name),
        entity=row.entity,
        entity_id=row.entity_id,
        action=row.action,
        old_value=row.old_value,
        new_value=row.new_value,
        note=row.note,
    )
