"""Self-service link tokens: a checkout terminal shows one as a QR code, its holder logs in.

A token is random, single use and valid for 15 minutes; only its SHA-256 is stored, so the
database never holds a usable token. Redeeming it does exactly one thing: it sets the card's
member's login subject (`oidc_subject`). It moves no money, adds no card and grants no role.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, logins
from core.db import run
from core.errors import CardBlocked, CardLinked, Conflict, NotFound
from core.models import Card, LinkToken, Member

TOKEN_TTL = timedelta(minutes=15)


class UnknownLinkToken(NotFound, code="unknown_link_token"):
    """No token has this value (mistyped, or never issued)."""


class LinkTokenUsed(Conflict, code="link_token_used"):
    """The token was redeemed before: each one links once."""


class LinkTokenExpired(Conflict, code="link_token_expired"):
    """The token is older than 15 minutes."""


class SubjectLinked(Conflict, code="subject_linked"):
    """The login is already linked to another member."""


@dataclass(frozen=True)
class IssuedToken:
    """The token in clear, shown once (as a QR code) and never stored."""

    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(public_url: str, token: str) -> str:
    """The page on the web side where the holder logs in and links the card."""
    return f"{public_url.rstrip('/')}/link/{token}"


async def _linked_subject(db: AsyncSession, member_id: int) -> str | None:
    return await db.scalar(select(Member.oidc_subject).where(Member.id == member_id))


async def issue(
    db: AsyncSession, *, card_uid: str, device_id: int | None, now: datetime
) -> IssuedToken:
    """A new token for an unblocked card whose member has no login linked yet."""
    holder = await cards.identify(db, card_uid)
    if await _linked_subject(db, holder.member_id) is not None:
        raise CardLinked("this card's member has already linked a login")
    token = secrets.token_urlsafe(32)
    expires_at = now + TOKEN_TTL
    await run(
        db,
        insert(LinkToken).values(
            token_hash=token_hash(token),
            card_id=holder.card_id,
            device_id=device_id,
            created_at=now,
            expires_at=expires_at,
        ),
    )
    return IssuedToken(token, expires_at)


async def _refusal(db: AsyncSession, digest: str) -> Exception:
    row = (
        await run(
            db,
            select(LinkToken.used_at, LinkToken.expires_at).where(LinkToken.token_hash == digest),
        )
    ).one_or_none()
    if row is None:
        return UnknownLinkToken("this link is not valid")
    if row.used_at is not None:
        return LinkTokenUsed("this link has been used already")
    return LinkTokenExpired("this link has expired: ask the terminal for a new one")


async def redeem(db: AsyncSession, token: str, *, subject: str, now: datetime) -> int:
    """Use a token: link the login `subject` to the card's member, whose id is returned.

    Refused with UnknownLinkToken, LinkTokenUsed, LinkTokenExpired, CardBlocked, CardLinked (the
    member has a login already) or SubjectLinked (the login belongs to another member). A
    refusal raises; the caller's rollback then leaves the token unused.
    """
    logins.check_subject(subject)
    digest = token_hash(token)
    # Marking it used in the same statement that checks it: a second redeem, concurrent or
    # later, finds no unused row.
    used = (
        await run(
            db,
            update(LinkToken)
            .where(
                LinkToken.token_hash == digest,
                LinkToken.used_at.is_(None),
                LinkToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(LinkToken.card_id),
        )
    ).one_or_none()
    if used is None:
        raise await _refusal(db, digest)
    card = (
        await run(db, select(Card.member_id, Card.blocked).where(Card.id == used.card_id))
    ).one()
    if card.blocked:
        raise CardBlocked("this card is blocked")
    owner = await logins.member_id(db, subject)
    if owner == card.member_id:
        raise CardLinked("this login is already linked to this member")
    if owner is not None:
        raise SubjectLinked("this login is already linked to another member")
    try:
        async with db.begin_nested():
            result = await run(
                db,
                update(Member)
                .where(Member.id == card.member_id, Member.oidc_subject.is_(None))
                .values(oidc_subject=subject),
            )
    except IntegrityError:
        # Another member took this subject since the check above.
        raise SubjectLinked("this login is already linked to another member") from None
    if not result.rowcount:
        raise CardLinked("this card's member has already linked a login")
    return int(card.member_id)
