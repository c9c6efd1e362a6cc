"""Every balance change is one conditional UPDATE plus ledger entries, in the caller's transaction.

The credit check happens inside the UPDATE (`WHERE balance + amount >= -credit_limit`), so
concurrent devices can never overdraw an account or lose an update: no read-modify-write in
Python. Several entries for one member (a login fee and a first interval) move the balance
together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import run
from core.hotpath.driver import Statement
from core.hotpath.driver import driver as hot_driver
from core.models import Member
from core.origin import Origin

# Hand-written SQL on the driver connection (`core.hotpath`): every charge, refund and top-up
# runs these two statements, and through SQLAlchemy they cost several times their own work.
_MOVE = Statement(
    "UPDATE members SET balance_cents = balance_cents + %(total)s WHERE id = %(member)s"
    " RETURNING balance_cents, credit_limit_cents"
)
_MOVE_WITHIN_CREDIT = Statement(
    "UPDATE members SET balance_cents = balance_cents + %(total)s WHERE id = %(member)s"
    " AND balance_cents + %(total)s >= -credit_limit_cents"
    " RETURNING balance_cents, credit_limit_cents"
)


@cache
def _entries(count: int) -> Statement:
    """The INSERT of `count` ledger entries (in posting order: their ids follow it)."""
    rows = ", ".join(
        f"(%(member)s, %(kind{n})s, %(amount{n})s, %(after{n})s, %(device)s, %(session)s,"
        f" %(product{n})s, %(box)s, %(counterparty)s, %(request)s, %(actor)s, %(note{n})s,"
        " %(now)s)"
        for n in range(count)
    )
    columns = (
        "member_id, kind, amount_cents, balance_after_cents, device_id, session_id, product_id,"
        " box_id, counterparty_id, request_id, actor, note, created_at"
    )
    # Only numbered placeholders are formatted in: the values are parameters.
    return Statement(f"INSERT INTO ledger_entries ({columns}) VALUES {rows}")  # noqa: S608


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
    driver = await hot_driver(db)
    moved = await driver.rows(
        _MOVE_WITHIN_CREDIT if within_credit else _MOVE, {"member": member_id, "total": total}
    )
    if not moved:
        return None
    balance_cents, credit_limit_cents = moved[0]
    if postings:
        params: dict[str, object] = {
            "member": member_id,
            "device": origin.device_id,
            "session": session_id,
            "box": box_id,
            "counterparty": counterparty_id,
            "request": origin.request_id,
            "actor": origin.actor,
            "now": driver.time(origin.now),
        }
        running = balance_cents - total
        for number, posting in enumerate(postings):
            running += posting.amount_cents
            params |= {
                f"kind{number}": posting.kind.value,
                f"amount{number}": posting.amount_cents,
                f"after{number}": running,
                f"product{number}": posting.product_id,
                f"note{number}": posting.note,
            }
        await driver.run(_entries(len(postings)), params)
    return Balance(balance_cents, credit_limit_cents)


async def balance_of(db: AsyncSession, member_id: int) -> Balance:
    """The member's balance and credit limit now (e.g. to report it when a charge was refused)."""
    row = (
        await run(
            db,
            select(Member.balance_cents, Member.credit_limit_cents).where(Member.id == member_id),
        )
    ).one()
    return Balance(row.balance_cents, row.credit_limit_cents)
