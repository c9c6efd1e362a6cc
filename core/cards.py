"""Card UIDs and looking up who holds a card."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import CardBlocked, UnknownCard
from core.formats import CARD_UID_PATTERN
from core.hotpath.driver import Statement, driver
from core.models import Card

_UID = re.compile(CARD_UID_PATTERN)
# Every card-carrying request looks its card up: hand-written SQL on the driver connection.
_HOLDER = Statement(
    "SELECT cards.id, cards.blocked, members.id, members.name, members.balance_cents,"
    " members.credit_limit_cents, members.pin_hash IS NOT NULL"
    " FROM cards JOIN members ON members.id = cards.member_id WHERE cards.uid = %(uid)s"
)


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
    raw = await driver(db)
    found = await raw.rows(_HOLDER, {"uid": uid})
    row = found[0] if found else None
    if row is None:
        raise UnknownCard("no member has this card")
    card_id, blocked, member_id, name, balance_cents, credit_limit_cents, has_pin = row
    if blocked:
        raise CardBlocked("this card is blocked")
    return CardHolder(
        member_id=member_id,
        card_id=card_id,
        name=name,
        balance_cents=balance_cents,
        credit_limit_cents=credit_limit_cents,
        has_pin=bool(has_pin),
    )


async def member_of(db: AsyncSession, uid: str) -> int:
    """The id of the member a card belongs to (blocked or not)."""
    member_id = await db.scalar(select(Card.member_id).where(Card.uid == uid))
    if member_id is None:
        raise UnknownCard(f"no member has card {uid}")
    return member_id
