"""Members: creating and finding them, their cards, credit limit, login link and corrections.

The CLI, checkout terminals, the admin pages and a member's own pages all go through these
functions and read the same models (`MemberSummary` is also the member's own profile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, ledger, logins
from core.audit import Actor
from core.db import run
from core.errors import Conflict, InsufficientFunds, NotFound
from core.formats import ADMIN_AMOUNT_MAX_CENTS
from core.link_tokens import SubjectLinked
from core.models import Card, Member
from core.origin import Origin
from core.paging import newest_first


@dataclass(frozen=True)
class NewMember:
    member_id: int
    name: str
    card_uid: str | None
    balance_cents: int


@dataclass(frozen=True)
class CardInfo:
    id: int
    uid: str
    blocked: bool
    created_at: datetime


@dataclass(frozen=True)
class MemberSummary:
    """A member's account at a glance: the admins' list, and the member's own profile."""

    id: int
    name: str
    email: str | None
    balance_cents: int
    credit_limit_cents: int
    has_pin: bool
    login_linked: bool


@dataclass(frozen=True)
class MemberDetail(MemberSummary):
    pin_failures: int
    pin_locked_until: datetime | None
    oidc_subject: str | None
    created_at: datetime
    cards: list[CardInfo]


@dataclass(frozen=True)
class Correction:
    """An admin's correction as booked: the amount, why, and the balance after it."""

    member_id: int
    amount_cents: int
    reason: str
    balance_cents: int


_CARD_COLUMNS = (Card.id, Card.uid, Card.blocked, Card.created_at)
_SUMMARY_COLUMNS = (
    Member.id,
    Member.name,
    Member.email,
    Member.balance_cents,
    Member.credit_limit_cents,
    Member.pin_hash.is_not(None).label("has_pin"),
    Member.oidc_subject.is_not(None).label("login_linked"),
)


def _summary_values(row: Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """A row with _SUMMARY_COLUMNS (and maybe more) as keyword arguments of its read model."""
    values = dict(row._mapping)
    return values | {
        "has_pin": bool(values["has_pin"]),
        "login_linked": bool(values["login_linked"]),
    }


async def update_or_fail(db: AsyncSession, member_id: int, **values: object) -> None:
    """Set columns of one member's row; NotFound if there is no such member."""
    updated = await run(
        db, update(Member).where(Member.id == member_id).values(**values).returning(Member.id)
    )
    if updated.one_or_none() is None:
        raise NotFound(f"no member {member_id}")


async def _require(db: AsyncSession, member_id: int) -> None:
    if await db.scalar(select(Member.id).where(Member.id == member_id)) is None:
        raise NotFound(f"no member {member_id}")


async def add_card(
    db: AsyncSession, member_id: int, uid: str, *, actor: Actor, now: datetime
) -> CardInfo:
    """Give a member a card (`uid` normalized); a UID can belong to one member only."""
    card = await _add_card(db, member_id, uid, now=now)
    await audit.MEMBER.record(
        db, member_id, "add_card", actor=actor, now=now, new=audit.values(card=uid)
    )
    return card


async def _add_card(db: AsyncSession, member_id: int, uid: str, *, now: datetime) -> CardInfo:
    await _require(db, member_id)
    if await db.scalar(select(Card.id).where(Card.uid == uid)) is not None:
        raise _card_taken(uid)
    try:
        async with db.begin_nested():
            card_id = (
                await run(
                    db,
                    insert(Card)
                    .values(uid=uid, member_id=member_id, blocked=False, created_at=now)
                    .returning(Card.id),
                )
            ).scalar_one()
    except IntegrityError:
        # Registered by someone else since the check above.
        raise _card_taken(uid) from None
    return CardInfo(card_id, uid, False, now)


def _card_taken(uid: str) -> Conflict:
    return Conflict(f"card {uid} is already registered", card=uid)


async def set_card_blocked(
    db: AsyncSession,
    member_id: int,
    card_id: int,
    *,
    blocked: bool,
    actor: Actor,
    now: datetime,
) -> CardInfo:
    """Block (lost) or unblock one of the member's cards; NotFound if it is not theirs."""
    before = await db.scalar(
        select(Card.blocked).where(Card.id == card_id, Card.member_id == member_id)
    )
    row = (
        await run(
            db,
            update(Card)
            .where(Card.id == card_id, Card.member_id == member_id)
            .values(blocked=blocked)
            .returning(*_CARD_COLUMNS),
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"member {member_id} has no card {card_id}")
    card = CardInfo(**row._mapping)
    await audit.MEMBER.record(
        db,
        member_id,
        "block_card" if blocked else "unblock_card",
        actor=actor,
        now=now,
        old=audit.values(card=card.uid, blocked=before),
        new=audit.values(card=card.uid, blocked=blocked),
    )
    return card


async def cards(db: AsyncSession, member_id: int) -> list[CardInfo]:
    """The member's cards, oldest first, blocked ones included."""
    rows = await run(
        db, select(*_CARD_COLUMNS).where(Card.member_id == member_id).order_by(Card.id)
    )
    return [CardInfo(**row._mapping) for row in rows.all()]


def _check_amount(amount_cents: int, what: str, *, allow_negative: bool) -> None:
    low = -ADMIN_AMOUNT_MAX_CENTS if allow_negative else 0
    if not low <= amount_cents <= ADMIN_AMOUNT_MAX_CENTS:
        raise ValueError(f"{what} must be {low} to {ADMIN_AMOUNT_MAX_CENTS} cents")


async def add_member(
    db: AsyncSession,
    *,
    name: str,
    now: datetime,
    email: str | None = None,
    card_uid: str | None = None,
    opening_balance_cents: int = 0,
    actor: Actor,
) -> NewMember:
    """Create a member, optionally with a card and an opening balance booked in the ledger."""
    member_id = (
        await run(
            db,
            insert(Member)
            .values(name=name, email=email, balance_cents=0, created_at=now)
            .returning(Member.id),
        )
    ).scalar_one()
    if card_uid is not None:
        await _add_card(db, member_id, card_uid, now=now)
    balance = 0
    if opening_balance_cents:
        posted = await ledger.post(
            db,
            member_id,
            [ledger.Posting(ledger.EntryKind.OPENING, opening_balance_cents, "opening balance")],
            Origin.of(actor, now=now),
            within_credit=True,
        )
        if posted is None:
            raise ValueError("an opening balance cannot be below the credit limit")
        balance = posted.balance_cents
    await audit.MEMBER.record(
        db,
        member_id,
        "create",
        actor=actor,
        now=now,
        new=audit.values(name=name, card=card_uid, balance_cents=balance),
    )
    return NewMember(member_id, name, card_uid, balance)


async def set_contact(
    db: AsyncSession,
    member_id: int,
    *,
    name: str,
    email: str | None,
    actor: Actor,
    now: datetime,
) -> None:
    """Change the member's name and e-mail address (None: no address)."""
    before = (
        await run(db, select(Member.name, Member.email).where(Member.id == member_id))
    ).one_or_none()
    if before is None:
        raise NotFound(f"no member {member_id}")
    if (before.name, before.email) == (name, email):
        return
    await update_or_fail(db, member_id, name=name, email=email)
    await audit.MEMBER.record(
        db,
        member_id,
        "set_contact",
        actor=actor,
        now=now,
        old=audit.values(name=before.name, email=before.email),
        new=audit.values(name=name, email=email),
    )


async def set_credit_limit(
    db: AsyncSession, member_id: int, credit_limit_cents: int, *, actor: Actor, now: datetime
) -> None:
    """How far below zero the member may go; refused if the balance is already lower."""
    _check_amount(credit_limit_cents, "a credit limit", allow_negative=False)
    before = await db.scalar(select(Member.credit_limit_cents).where(Member.id == member_id))
    result = await run(
        db,
        update(Member)
        .where(Member.id == member_id, Member.balance_cents >= -credit_limit_cents)
        .values(credit_limit_cents=credit_limit_cents)
        .returning(Member.id),
    )
    if result.one_or_none() is None:
        await _require(db, member_id)
        balance = await ledger.balance_of(db, member_id)
        raise Conflict(
            "the balance is already below that credit limit",
            balance_cents=balance.balance_cents,
        )
    await audit.MEMBER.record(
        db,
        member_id,
        "set_credit_limit",
        actor=actor,
        now=now,
        old=audit.values(credit_limit_cents=before),
        new=audit.values(credit_limit_cents=credit_limit_cents),
    )


async def correct_balance(
    db: AsyncSession,
    member_id: int,
    amount_cents: int,
    *,
    reason: str,
    now: datetime,
    actor: Actor,
) -> Correction:
    """Book an admin's correction as one ledger entry whose note is the reason.

    A debit may not take the balance below minus the credit limit (InsufficientFunds).
    """
    _check_amount(amount_cents, "a correction", allow_negative=True)
    if amount_cents == 0:
        raise ValueError("a correction of 0 cents changes nothing")
    if not reason.strip():
        raise ValueError("a correction needs a reason")
    await _require(db, member_id)
    posted = await ledger.post(
        db,
        member_id,
        [ledger.Posting(ledger.EntryKind.CORRECTION, amount_cents, reason)],
        Origin.of(actor, now=now),
        within_credit=True,
    )
    if posted is None:
        balance = await ledger.balance_of(db, member_id)
        raise InsufficientFunds(
            f"a correction of {amount_cents} cents would go below the credit limit",
            balance_cents=balance.balance_cents,
            credit_limit_cents=balance.credit_limit_cents,
            needed_cents=-amount_cents,
        )
    await audit.MEMBER.record(
        db,
        member_id,
        "correct_balance",
        actor=actor,
        now=now,
        old=audit.values(balance_cents=posted.balance_cents - amount_cents),
        new=audit.values(balance_cents=posted.balance_cents),
        note=reason,
    )
    return Correction(member_id, amount_cents, reason, posted.balance_cents)


async def link_login(
    db: AsyncSession, member_id: int, subject: str, *, actor: Actor, now: datetime
) -> None:
    """Link a login (OIDC subject) to the member, replacing any login linked before.

    SubjectLinked (naming `member_id`) when another member holds that login: unlink it there
    first, so that moving a login is always two deliberate steps.
    """
    logins.check_subject(subject)
    await _require(db, member_id)
    owner = await logins.member_id(db, subject)
    if owner == member_id:
        return
    if owner is not None:
        raise _linked_elsewhere(owner)
    before = await _login_of(db, member_id)
    try:
        async with db.begin_nested():
            await update_or_fail(db, member_id, oidc_subject=subject)
    except IntegrityError:
        # Linked to someone else (through a card link) since the check above.
        raise _linked_elsewhere(await logins.member_id(db, subject)) from None
    old, new = audit.values(login=before), audit.values(login=subject)
    await audit.MEMBER.record(db, member_id, "link_login", actor=actor, now=now, old=old, new=new)


async def _login_of(db: AsyncSession, member_id: int) -> str | None:
    return await db.scalar(select(Member.oidc_subject).where(Member.id == member_id))


def _linked_elsewhere(owner: int | None) -> SubjectLinked:
    return SubjectLinked(f"this login is linked to member {owner}", member_id=owner)


async def unlink_login(db: AsyncSession, member_id: int, *, actor: Actor, now: datetime) -> None:
    """Forget the member's login: it can link a card again (or be linked by an admin)."""
    before = await _login_of(db, member_id)
    await update_or_fail(db, member_id, oidc_subject=None)
    if before is not None:
        old, new = audit.values(login=before), audit.values(login=None)
        await audit.MEMBER.record(
            db, member_id, "unlink_login", actor=actor, now=now, old=old, new=new
        )


async def summary(db: AsyncSession, member_id: int) -> MemberSummary:
    """The member's name, contact, balance and credit limit."""
    row = (await run(db, select(*_SUMMARY_COLUMNS).where(Member.id == member_id))).one_or_none()
    if row is None:
        raise NotFound(f"no member {member_id}")
    return MemberSummary(**_summary_values(row))


async def detail(db: AsyncSession, member_id: int, *, now: datetime) -> MemberDetail:
    """Everything an admin sees about one member; an expired PIN lock shows as none."""
    statement = select(
        *_SUMMARY_COLUMNS,
        Member.pin_failures,
        Member.pin_locked_until,
        Member.oidc_subject,
        Member.created_at,
    ).where(Member.id == member_id)
    row = (await run(db, statement)).one_or_none()
    if row is None:
        raise NotFound(f"no member {member_id}")
    values = _summary_values(row)
    locked_until = values.pop("pin_locked_until")
    return MemberDetail(
        **values,
        pin_locked_until=locked_until if locked_until is not None and locked_until > now else None,
        cards=await cards(db, member_id),
    )


def _uid_fragment(query: str) -> str | None:
    """The query as part of a card UID (`04:a1` → `04A1`), if it can be one."""
    fragment = query.upper().replace(":", "").replace("-", "").replace(" ", "")
    if len(fragment) >= 2 and all(c in "0123456789ABCDEF" for c in fragment):
        return fragment
    return None


async def search(
    db: AsyncSession, *, query: str | None, limit: int, before_id: int | None = None
) -> list[MemberSummary]:
    """Members newest first, optionally those whose name, e-mail or a card UID contains
    `query` (case-insensitive); keyset paging on the id."""
    statement = select(*_SUMMARY_COLUMNS)
    if query:
        matches = [
            Member.name.icontains(query, autoescape=True),
            Member.email.icontains(query, autoescape=True),
        ]
        fragment = _uid_fragment(query)
        if fragment is not None:
            matches.append(
                exists().where(
                    Card.member_id == Member.id, Card.uid.contains(fragment, autoescape=True)
                )
            )
        statement = statement.where(or_(*matches))
    statement = newest_first(statement, Member.id, before_id=before_id, limit=limit)
    rows = await run(db, statement)
    return [MemberSummary(**_summary_values(row)) for row in rows.all()]


async def existing(db: AsyncSession, member_id: int) -> int:
    """`member_id` when there is such a member; NotFound otherwise."""
    await _require(db, member_id)
    return member_id
