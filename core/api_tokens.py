"""API tokens: bearer secrets for scripts and operators, each with one role.

A token is shown once when created; the database keeps its SHA-256 only (the token is 256
random bits, so a fast hash is enough and lookups stay one indexed read). Revoking is final.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.audit import Actor
from core.errors import Conflict, NotFound
from core.models import API_TOKEN_ROLES, ApiToken

PREFIX = "mbt_"
NAME_MAX = 100
# Recording every use would make each read a write; once a minute says enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.role, row.created_at, row.last_used_at, row.revoked_at)


async def create(
    db: AsyncSession, *, name: str, role: str, now: datetime, actor: Actor
) -> tuple[TokenInfo, str]:
    """A new token; the second value is the token in clear, to be shown once (the audit trail
    keeps its name and role only)."""
    if role not in API_TOKEN_ROLES:
        raise ValueError(f"role must be one of {', '.join(API_TOKEN_ROLES)}")
    if not 1 <= len(name) <= NAME_MAX or not name.isprintable():
        raise ValueError(f"a token name is 1 to {NAME_MAX} printable characters")
    if await db.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise Conflict(f"a token named {name!r} exists already")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, role=role, token_hash=_digest(token), created_at=now)
    db.add(row)
    await db.flush()
    await audit.API_TOKEN.record(
        db,
        name,
        "create",
        actor=actor,
        now=now,
        new=audit.values(role=role),
    )
    return _info(row), token


async def authenticate(db: AsyncSession, token: str, *, now: datetime) -> TokenInfo | None:
    """The live token with this value (its use recorded), or None."""
    row = await db.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return _info(row)


async def revoke(db: AsyncSession, name: str, *, now: datetime, actor: Actor) -> None:
    result = await db.execute(
        update(ApiToken)
        .where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound(f"no live token named {name!r}")
    await audit.API_TOKEN.record(
        db,
        name,
        "revoke",
        actor=actor,
        now=now,
        old=audit.values(live=True),
        new=audit.values(live=False),
    )


async def listing(db: AsyncSession) -> list[TokenInfo]:
    rows = await db.scalars(select(ApiToken).order_by(ApiToken.name))
    return [_info(row) for row in rows]
