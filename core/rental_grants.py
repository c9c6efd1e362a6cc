"""Rental permissions as an admin grants and takes them: the change (`core.rentals`) and its
row in the audit trail, together."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, members, rentals
from core.audit import Actor
from core.errors import NotFound


async def _may_rent(db: AsyncSession, member_id: int) -> bool:
    try:
        await rentals.permission(db, member_id)
    except NotFound:
        return False
    return True


async def permit(db: AsyncSession, member_id: int, *, actor: Actor, now: datetime) -> None:
    """Let a member rent items (granting again records the new grant); NotFound for no member."""
    had = await _may_rent(db, member_id)
    await rentals.permit(db, member_id, actor=actor.ref, now=now)
    old, new = audit.values(may_rent=had), audit.values(may_rent=True)
    await members.record(db, member_id, "permit_rentals", actor=actor, now=now, old=old, new=new)


async def revoke(db: AsyncSession, member_id: int, *, actor: Actor, now: datetime) -> bool:
    """Take the permission away (rentals already out stay out); whether there was one."""
    had = await rentals.revoke(db, member_id)
    if had:
        old, new = audit.values(may_rent=True), audit.values(may_rent=False)
        await members.record(
            db, member_id, "revoke_rentals", actor=actor, now=now, old=old, new=new
        )
    return had
