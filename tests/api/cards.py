"""Cards waiting to be linked, as a terminal leaves them, and whom a card ended up with."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import link_tokens
from core.members import NewMember
from core.models import Member
from tests.factories import make_member


async def card_with_token(
    db: AsyncSession, app: FastAPI, *, age: timedelta = timedelta(0)
) -> tuple[NewMember, str]:
    """A member with a card and no login, and a link token issued `age` ago (committed)."""
    member = await make_member(db, name="Card Holder")
    assert member.card_uid is not None
    issued = await link_tokens.issue(
        db, card_uid=member.card_uid, device_id=None, now=app.state.clock.now() - age
    )
    await db.commit()
    return member, issued.token


async def subject_of(db: AsyncSession, member: NewMember) -> str | None:
    """The login the member's account is linked to, if any."""
    subject = await db.scalar(select(Member.oidc_subject).where(Member.id == member.member_id))
    await db.rollback()  # SQLite: let go of the lock before the app writes
    return subject
