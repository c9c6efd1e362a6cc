"""What a machine's sub-admin may do to its authorizations, and how they find whom to grant.

A sub-admin keeps one machine for the admins: they let other members use it, or stop them, at
the machine's own tariff. Prices are the admins' alone (the tariff and any member's own
prices), and a sub-admin never grants, changes or revokes their own authorization (that of
the member their login is linked to), so that nobody can make their own use free or cheaper.
`machines.authorize` and `machines.revoke` apply this rule when a sub-admin makes the change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import logins
from core.billing import TariffOverride
from core.cards import normalize_uid
from core.db import run
from core.errors import NotAuthorized
from core.models import Authorization, Card, Member
from core.paging import newest_first

# A lookup names at least this much of a name, so that it cannot list everyone at once.
LOOKUP_MIN_CHARS = 2
# What a lookup shows of a card: its last hex digits, enough to tell two namesakes apart.
CARD_ENDING_CHARS = 4


class OwnAuthorization(NotAuthorized, code="own_authorization"):
    """A sub-admin tried to grant, change or revoke their own authorization."""


class PricesAdminOnly(NotAuthorized, code="prices_admin_only"):
    """A sub-admin tried to set a member's own prices, or to replace or revoke them."""


@dataclass(frozen=True)
class Candidate:
    """A member as a sub-admin sees them when granting: no balance, no contact, no full card."""

    id: int
    name: str
    card_endings: list[str]
    authorized: bool


async def check_change(
    db: AsyncSession,
    *,
    member_id: int,
    sub_admin: str,
    override: TariffOverride,
    current: TariffOverride | None,
) -> None:
    """Refuse what the sub-admin `sub_admin` (an OIDC subject) may not do to the member's
    authorization: grant it with `override` (empty for a revoke) where the member's own prices
    are `current` now (None: no grant). OwnAuthorization or PricesAdminOnly."""
    own = await logins.member_id(db, sub_admin)
    if own == member_id:
        raise OwnAuthorization(
            "a sub-admin cannot grant, change or revoke their own authorization: ask an admin"
        )
    if override != TariffOverride():
        raise PricesAdminOnly(
            "members' own prices are set by an admin only: a sub-admin grants at the "
            "machine's tariff"
        )
    if current not in (None, TariffOverride()):
        raise PricesAdminOnly(
            f"member {member_id} has own prices on this machine, not the machine's tariff: "
            "only an admin can replace or revoke that authorization"
        )


def lookup_query(query: str) -> str:
    """`query` without surrounding blanks; ValueError when fewer than LOOKUP_MIN_CHARS remain."""
    query = query.strip()
    if len(query) < LOOKUP_MIN_CHARS:
        raise ValueError(f"look members up by at least {LOOKUP_MIN_CHARS} characters")
    return query


def _card_uid(query: str) -> str | None:
    try:
        return normalize_uid(query)
    except ValueError:
        return None


async def find_members(
    db: AsyncSession,
    *,
    device_id: int,
    query: str,
    limit: int,
    before_id: int | None = None,
) -> list[Candidate]:
    """Members whose name contains `query` (case-insensitive) or who hold the card it names
    in full, newest first, each with whether they may use the machine already.

    A card matches only by its whole UID (the card is at hand), never by a fragment.
    """
    query = lookup_query(query)
    matches = [Member.name.icontains(query, autoescape=True)]
    uid = _card_uid(query)
    if uid is not None:
        matches.append(exists().where(Card.member_id == Member.id, Card.uid == uid))
    authorized = exists().where(
        Authorization.member_id == Member.id, Authorization.device_id == device_id
    )
    statement = select(Member.id, Member.name, authorized.label("authorized")).where(or_(*matches))
    rows = (
        await run(db, newest_first(statement, Member.id, before_id=before_id, limit=limit))
    ).all()
    endings: defaultdict[int, list[str]] = defaultdict(list)
    cards = await run(
        db,
        select(Card.member_id, Card.uid)
        .where(Card.member_id.in_([row.id for row in rows]), Card.blocked.is_(False))
        .order_by(Card.id),
    )
    for card in cards.all():
        endings[card.member_id].append(card.uid[-CARD_ENDING_CHARS:])
    return [Candidate(row.id, row.name, endings[row.id], bool(row.authorized)) for row in rows]
