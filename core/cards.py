"""Card UIDs and looking up who holds a card."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import run
from core.errors import CardBlocked, UnknownCard
from core.formats import CARD_UID_PATTERN
from core.models import Card, Member

_UID = re.compile(CARD_UID_PATTERN)


def normalize_uid(raw: str) -> str:
    """Upper-case hex without separators (4, 7 or 10 bytes), or ValueError."""
    uid = raw.strip().upper().replace(":", "").replace("-", "").replace(" ", "")
    if not _UID.match(uid):
        raise ValueError("card UID must be 4, 7 or 10 bytes of hex")
    return uid


@dataclass(frozen=True)
class CardHolder:
    member_id: int
    card_id: int
    name: str
    balance_cents: int
    credit_limit_cents: int
    has_pin: bool


async def identify(db: AsyncSession, uid: str) -> CardHolder:
    """The member holding an unblocked card."""
    row = (
        await run(
            db,
            select(
                Card.id.label("card_id"),
                Card.blocked,
                Member.id,
                Member.name,
                Member.balance_cents,
                Member.credit_limit_cents,
                Member.pin_hash,
            )
            .join(Member, Member.id == Card.member_id)
            .where(Card.uid == uid),
        )
    ).one_or_none()
    if row is None:
        raise UnknownCard("no member has this card")
    if row.blocked:
        raise CardBlocked("this card is blocked")
    return CardHolder(
        member_id=row.id,
        card_id=row.card_id,
        name=row.name,
        balance_cents=row.balance_cents,
        credit_limit_cents=row.credit_limit_cents,
        has_pin=row.pin_hash is not None,
    )


async def member_of(db: AsyncSession, uid: str) -> int:
    """The id of the member a card belongs to (blocked or not)."""
    member_id = await db.scalar(select(Card.member_id).where(Card.uid == uid))
    if member_id is None:
        raise UnknownCard(f"no member has card {uid}")
    return member_id
