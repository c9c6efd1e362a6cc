"""The Bankomat: top-up, donation, transfer, payout and history, on both ledgers.

Rows are always locked in one order (members by id, then the cash box), so concurrent top-ups,
transfers and payouts on PostgreSQL cannot deadlock each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, cash_boxes, ledger, pins
from core.cash_boxes import BoxEntryKind
from core.db import run
from core.errors import CardBlocked, InsufficientFunds, NotAuthorized, UnknownCard
from core.formats import HISTORY_LIMIT
from core.ledger import EntryKind, Posting
from core.models import LedgerEntry
from core.origin import Origin

log = logging.getLogger("makerbus.bank")


@dataclass(frozen=True)
class ToppedUp:
    """A top-up booked: the member's and the cash box's new balances."""

    balance_cents: int
    target_balance_cents: int


@dataclass(frozen=True)
class Transferred:
    """A transfer booked: the sender's and the receiver's new balances."""

    balance_cents: int
    to_balance_cents: int


@dataclass(frozen=True)
class PaidOut:
    """A payout booked: the cash box's new balance."""

    target_balance_cents: int


@dataclass(frozen=True)
class BoxShort:
    """The box holds less than the payout; nothing moved, but the right PIN reset the count."""

    balance_cents: int
    needed_cents: int


@dataclass(frozen=True)
class Line:
    """One entry of a member's ledger, as the Bankomat's history shows it."""

    at: datetime
    kind: str
    amount_cents: int
    balance_after_cents: int


def _check_amount(amount_cents: int) -> None:
    if amount_cents <= 0:
        raise ValueError("an amount must be positive")


async def targets(db: AsyncSession) -> list[cash_boxes.Box]:
    """The cash boxes a Bankomat may book to, sorted by slug."""
    return await cash_boxes.all_boxes(db)


async def topup(
    db: AsyncSession, *, card_uid: str, amount_cents: int, target: str, origin: Origin
) -> ToppedUp:
    """Cash paid into a box is credited to the card's member and to the box."""
    _check_amount(amount_cents)
    holder = await cards.identify(db, card_uid)
    box = await cash_boxes.find(db, target)
    balance = await ledger.post(
        db,
        holder.member_id,
        [Posting(EntryKind.TOPUP, amount_cents)],
        origin,
        within_credit=False,
        box_id=box.id,
    )
    assert balance is not None  # a credit: no floor applies
    box_balance = await cash_boxes.post(
        db, box.id, BoxEntryKind.TOPUP, amount_cents, origin, member_id=holder.member_id
    )
    assert box_balance is not None  # a credit
    return ToppedUp(balance.balance_cents, box_balance)


async def donate(db: AsyncSession, *, amount_cents: int, target: str, origin: Origin) -> int:
    """Cash given to a box without crediting anyone; the box's new balance."""
    _check_amount(amount_cents)
    box = await cash_boxes.find(db, target)
    box_balance = await cash_boxes.post(db, box.id, BoxEntryKind.DONATION, amount_cents, origin)
    assert box_balance is not None  # a credit
    return box_balance


async def _holder(db: AsyncSession, uid: str, role: str) -> cards.CardHolder:
    """`identify`, with errors that say which of two cards failed (field `card`)."""
    try:
        return await cards.identify(db, uid)
    except UnknownCard:
        raise UnknownCard(f"no member has the {role} card", card=uid) from None
    except CardBlocked:
        raise CardBlocked(f"the {role} card is blocked", card=uid) from None


async def transfer(
    db: AsyncSession, *, card_uid: str, to_card_uid: str, amount_cents: int, origin: Origin
) -> Transferred:
    """Move money from one member to another, all or nothing, within the sender's credit."""
    _check_amount(amount_cents)
    sender = await _holder(db, card_uid, "sending")
    receiver = await _holder(db, to_card_uid, "receiving")
    if sender.member_id == receiver.member_id:
        raise NotAuthorized("cannot transfer to your own account")
    balances: dict[int, ledger.Balance] = {}
    for member_id in sorted((sender.member_id, receiver.member_id)):
        sending = member_id == sender.member_id
        posted = await ledger.post(
            db,
            member_id,
            [
                Posting(EntryKind.TRANSFER_OUT, -amount_cents)
                if sending
                else Posting(EntryKind.TRANSFER_IN, amount_cents)
            ],
            origin,
            within_credit=sending,
            counterparty_id=receiver.member_id if sending else sender.member_id,
        )
        if posted is None:
            # The runtime rolls back the whole request, the receiver's credit included.
            raise InsufficientFunds(
                f"the transfer needs {amount_cents} cents",
                balance_cents=(await ledger.balance_of(db, sender.member_id)).balance_cents,
                needed_cents=amount_cents,
            )
        balances[member_id] = posted
    return Transferred(
        balances[sender.member_id].balance_cents, balances[receiver.member_id].balance_cents
    )


async def payout(
    db: AsyncSession,
    *,
    card_uid: str,
    pin: str,
    target: str,
    amount_cents: int,
    origin: Origin,
) -> PaidOut | BoxShort | pins.Rejected | pins.Locked:
    """A treasurer takes cash out of a box, with their card and PIN.

    Everything but `PaidOut` is a refusal whose changes the caller must keep: the PIN's
    failure count (or its reset) has to survive the refusal.
    """
    _check_amount(amount_cents)
    holder = await cards.identify(db, card_uid)
    box = await cash_boxes.find(db, target)
    verdict = await pins.verify(db, holder.member_id, pin, now=origin.now)
    if not isinstance(verdict, pins.Accepted):
        _log_refusal(holder.member_id, origin, verdict)
        return verdict
    box_balance = await cash_boxes.post(
        db, box.id, BoxEntryKind.PAYOUT, -amount_cents, origin, member_id=holder.member_id
    )
    if box_balance is None:
        current = (await cash_boxes.find(db, target)).balance_cents
        return BoxShort(balance_cents=current, needed_cents=amount_cents)
    return PaidOut(box_balance)


def _log_refusal(member_id: int, origin: Origin, verdict: pins.Rejected | pins.Locked) -> None:
    fields = {
        "member_id": member_id,
        "device": origin.device_slug,
        "request_id": origin.request_id,
        "failures": verdict.failures,
    }
    if isinstance(verdict, pins.Rejected):
        log.warning("wrong PIN", extra={**fields, "attempts_left": verdict.attempts_left})
    elif verdict.just_locked:
        log.warning("wrong PIN: locked", extra={**fields, "locked_until": verdict.until})
    else:
        log.warning("PIN locked: attempt refused", extra={**fields, "locked_until": verdict.until})


async def history(db: AsyncSession, *, card_uid: str, limit: int = 10) -> list[Line]:
    """The card holder's most recent ledger lines, newest first (at most 20)."""
    if not 1 <= limit <= HISTORY_LIMIT:
        raise ValueError(f"limit must be 1-{HISTORY_LIMIT}")
    holder = await cards.identify(db, card_uid)
    rows = await run(
        db,
        select(
            LedgerEntry.created_at,
            LedgerEntry.kind,
            LedgerEntry.amount_cents,
            LedgerEntry.balance_after_cents,
        )
        .where(LedgerEntry.member_id == holder.member_id)
        .order_by(LedgerEntry.id.desc())
        .limit(limit),
    )
    return [
        Line(row.created_at, row.kind, row.amount_cents, row.balance_after_cents)
        for row in rows.all()
    ]
