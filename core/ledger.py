"""Every balance change is one conditional UPDATE plus ledger entries, in the caller's transaction.

The credit check happens inside the UPDATE (`WHERE balance + amount >= -credit_limit`), so
concurrent devices can never overdraw an account or lose an update: no read-modify-write in
Python. Several entries for one member (a login fee and a first interval) move the balance
together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import run
from core.models import LedgerEntry, Member
from core.origin import Origin


class EntryKind(StrEnum):
    OPENING = "opening"
    CORRECTION = "correction"
    SESSION_LOGIN_FEE = "session_login_fee"
    SESSION_INTERVAL = "session_interval"
    SESSION_REFUND = "session_refund"
    PURCHASE = "purchase"
    TOPUP = "topup"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"


@dataclass(frozen=True)
class Posting:
    """One ledger entry to make; `product_id` names the product a purchase line paid for."""

    kind: EntryKind
    amount_cents: int
    note: str | None = None
    product_id: int | None = None


@dataclass(frozen=True)
class Balance:
    balance_cents: int
    credit_limit_cents: int

    @property
    def spendable_cents(self) -> int:
        return self.balance_cents + self.credit_limit_cents


async def post(
    db: AsyncSession,
    member_id: int,
    postings: list[Posting],
    origin: Origin,
    *,
    within_credit: bool,
    session_id: int | None = None,
    box_id: int | None = None,
    counterparty_id: int | None = None,
) -> Balance | None:
    """Apply the postings; the new balance, or None (nothing changed) if the credit check fails.

    `within_credit` makes the balance stay at or above minus the member's credit limit; credits
    and refunds pass False. The session, cash box or counterparty is recorded on every entry.
    """
    postings = [p for p in postings if p.amount_cents != 0]
    total = sum(p.amount_cents for p in postings)
    statement = (
        update(Member)
        .where(Member.id == member_id)
        .values(balance_cents=Member.balance_cents + total)
        .returning(Member.balance_cents, Member.credit_limit_cents)
    )
    if within_credit:
        statement = statement.where(Member.balance_cents + total >= -Member.credit_limit_cents)
    row = (await run(db, statement)).one_or_none()
    if row is None:
        return None
    if postings:
        running = row.balance_cents - total
        entries = []
        for posting in postings:
            running += posting.amount_cents
            entries.append(
                {
                    "member_id": member_id,
                    "kind": posting.kind.value,
                    "amount_cents": posting.amount_cents,
                    "balance_after_cents": running,
                    "device_id": origin.device_id,
                    "session_id": session_id,
                    "product_id": posting.product_id,
                    "box_id": box_id,
                    "counterparty_id": counterparty_id,
                    "request_id": origin.request_id,
                    "actor": origin.actor,
                    "note": posting.note,
                    "created_at": origin.now,
                }
            )
        await run(db, insert(LedgerEntry), entries)
    return Balance(row.balance_cents, row.credit_limit_cents)


async def balance_of(db: AsyncSession, member_id: int) -> Balance:
    """The member's balance and credit limit now (e.g. to report it when a charge was refused)."""
    row = (
        await run(
            db,
            select(Member.balance_cents, Member.credit_limit_cents).where(Member.id == member_id),
        )
    ).one()
    return Balance(row.balance_cents, row.credit_limit_cents)
