"""Web sessions ended by logout: their ids are refused until the session would have expired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import RevokedSession


async def revoke(db: AsyncSession, session_id: str, *, expires_at: datetime) -> None:
    """End a session; ending it twice is no error."""
    try:
        async with db.begin_nested():
            await db.execute(
                insert(RevokedSession).values(session_id=session_id, expires_at=expires_at)
            )
    except IntegrityError:
        pass


async def is_revoked(db: AsyncSession, session_id: str) -> bool:
    found = await db.scalar(
        select(RevokedSession.session_id).where(RevokedSession.session_id == session_id)
    )
    return found is not None


async def prune(db: AsyncSession, *, now: datetime) -> int:
    """Forget revocations of sessions that have expired anyway."""
    result = await db.execute(delete(RevokedSession).where(RevokedSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0))
