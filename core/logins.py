"""Logins: an OIDC subject (`sub`) is linked to at most one member (`members.oidc_subject`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.formats import SUBJECT_MAX
from core.models import Member


def check_subject(subject: str) -> str:
    """`subject` unchanged, or ValueError when it is empty or longer than SUBJECT_MAX."""
    if not 1 <= len(subject) <= SUBJECT_MAX:
        raise ValueError(f"a login subject is 1 to {SUBJECT_MAX} characters")
    return subject


async def member_id(db: AsyncSession, subject: str) -> int | None:
    """The member the login is linked to; None while it is linked to nobody."""
    return await db.scalar(select(Member.id).where(Member.oidc_subject == subject))
