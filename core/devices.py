"""The device registry: the database is the list of record, the broker follows it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.audit import Actor
from core.errors import Conflict, NotFound
from core.formats import SLUG_PATTERN, DeviceKind
from core.models import Device, MachineSession

_SLUG = re.compile(SLUG_PATTERN)
RESERVED_SLUG_PREFIX = "makerbus-"


@dataclass(frozen=True)
class DeviceRef:
    """What a request handler knows about the device that sent it."""

    id: int
    slug: str
    kind: DeviceKind
    name: str
    enabled: bool


@dataclass(frozen=True)
class DeviceStatus:
    """What a device's retained status topic says of its connection (`api.device_status`).

    `online` and `fw` are None while the process telling it is not watching the topics, and
    `online` also while the device never reported; `heard_at` is its last live `online: true`.
    """

    watching: bool
    online: bool | None
    fw: str | None
    heard_at: datetime | None


@dataclass(frozen=True)
class DeviceRecord:
    """A registered device as the admins see it: its row and what is known of its connection."""

    slug: str
    kind: DeviceKind
    name: str
    enabled: bool
    created_at: datetime
    credentials_rotated_at: datetime | None
    last_request_at: datetime | None
    status: DeviceStatus

    @classmethod
    def of(cls, device: Device, status: DeviceStatus) -> DeviceRecord:
        return cls(
            slug=device.slug,
            kind=DeviceKind(device.kind),
            name=device.name,
            enabled=device.enabled,
            created_at=device.created_at,
            credentials_rotated_at=device.credentials_rotated_at,
            last_request_at=device.last_seen_at,
            status=status,
        )

    @property
    def online(self) -> bool | None:
        """As the device last reported, but false once disabled: the broker refuses it, whatever
        its stale retained status says."""
        if self.status.watching and not self.enabled:
            return False
        return self.status.online

    @property
    def fw(self) -> str | None:
        return self.status.fw

    @property
    def last_seen_at(self) -> datetime | None:
        """The latest of its last request and its last live `online: true`."""
        seen = [at for at in (self.last_request_at, self.status.heard_at) if at is not None]
        return max(seen, default=None)


def _ref(device: Device) -> DeviceRef:
    return DeviceRef(device.id, device.slug, DeviceKind(device.kind), device.name, device.enabled)


def check_slug(slug: str) -> str:
    """A slug matches `SLUG_PATTERN` and may not take a service account's name."""
    if not _SLUG.match(slug):
        raise ValueError("slug must be 2-40 characters of a-z, 0-9 and -")
    if slug.startswith(RESERVED_SLUG_PREFIX):
        raise ValueError(f"slugs starting with {RESERVED_SLUG_PREFIX!r} are reserved")
    return slug


# Any constant will do: it names the one advisory lock of the device registry.
_REGISTRY_LOCK = 0x6D6B7262  # "mkrb"


async def lock_registry(db: AsyncSession) -> None:
    """Serialise provisioning and reconcile, so one never sees the other half done.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every transaction holds the
    database's write lock (BEGIN IMMEDIATE), taken here at the latest.
    """
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REGISTRY_LOCK})
    else:
        await db.connection()


async def create(
    db: AsyncSession, *, slug: str, kind: DeviceKind, name: str, now: datetime, actor: Actor
) -> DeviceRef:
    check_slug(slug)
    if await db.scalar(select(Device.id).where(Device.slug == slug)) is not None:
        raise Conflict(f"device {slug} exists already")
    device = Device(
        slug=slug,
        kind=kind.value,
        name=name,
        enabled=True,
        created_at=now,
        credentials_rotated_at=now,
    )
    db.add(device)
    await db.flush()
    new = audit.values(kind=kind.value, name=name, enabled=True)
    await audit.DEVICE.record(db, slug, "create", actor=actor, now=now, new=new)
    return _ref(device)


async def _row(db: AsyncSession, slug: str) -> Device | None:
    return await db.scalar(select(Device).where(Device.slug == slug))


async def find(db: AsyncSession, slug: str) -> DeviceRef | None:
    device = await _row(db, slug)
    return None if device is None else _ref(device)


async def get_row(db: AsyncSession, slug: str) -> Device:
    """The device's whole row (timestamps included), or NotFound."""
    device = await _row(db, slug)
    if device is None:
        raise NotFound(f"no device {slug}")
    return device


async def get(db: AsyncSession, slug: str) -> DeviceRef:
    return _ref(await get_row(db, slug))


async def list_all(db: AsyncSession) -> list[Device]:
    return list((await db.scalars(select(Device).order_by(Device.slug))).all())


async def set_enabled(
    db: AsyncSession, slug: str, *, enabled: bool, actor: Actor, now: datetime
) -> DeviceRef:
    before = await get(db, slug)
    await db.execute(update(Device).where(Device.slug == slug).values(enabled=enabled))
    await audit.DEVICE.record(
        db,
        slug,
        "enable" if enabled else "disable",
        actor=actor,
        now=now,
        old=audit.values(enabled=before.enabled),
        new=audit.values(enabled=enabled),
    )
    return await get(db, slug)


async def mark_rotated(db: AsyncSession, slug: str, *, now: datetime, actor: Actor) -> None:
    await db.execute(update(Device).where(Device.slug == slug).values(credentials_rotated_at=now))
    await audit.DEVICE.record(db, slug, "rotate_password", actor=actor, now=now)


async def remove(db: AsyncSession, slug: str, *, actor: Actor, now: datetime) -> None:
    """Remove a device that has no history; one with sessions must be disabled instead."""
    device = await get(db, slug)
    if await db.scalar(select(MachineSession.id).where(MachineSession.device_id == device.id)):
        raise Conflict(f"device {slug} has sessions on record: disable it instead")
    await db.execute(delete(Device).where(Device.slug == slug))
    old = audit.values(kind=device.kind.value, name=device.name, enabled=device.enabled)
    await audit.DEVICE.record(db, slug, "remove", actor=actor, now=now, old=old)


async def touch(db: AsyncSession, device_id: int, *, now: datetime) -> None:
    """Record that the device was heard from."""
    await db.execute(update(Device).where(Device.id == device_id).values(last_seen_at=now))
