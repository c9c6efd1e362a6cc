"""Test data with unique keys, so tests sharing a database never collide."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core import devices, members
from core.devices import DeviceRef
from core.members import NewMember
from core.models import DeviceKind

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
_counter = itertools.count(1)


def unique_slug(prefix: str = "dev") -> str:
    return f"{prefix}-{next(_counter)}-{secrets.token_hex(3)}"


def unique_uid() -> str:
    return "04" + secrets.token_hex(6).upper()


async def make_member(
    db: AsyncSession,
    *,
    name: str = "Ada Lovelace",
    balance_cents: int = 0,
    card: str | None = None,
) -> NewMember:
    return await members.add_member(
        db, name=name, card_uid=card or unique_uid(), opening_balance_cents=balance_cents, now=T0
    )


async def make_device(
    db: AsyncSession, *, kind: DeviceKind = DeviceKind.MACHINE, slug: str | None = None
) -> DeviceRef:
    slug = slug or unique_slug(kind.value)
    return await devices.create(db, slug=slug, kind=kind, name=f"Test {slug}", now=T0)
