"""Ledger postings (`core.ledger.post`, hand-written SQL): the balance and every entry's record."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.ledger import EntryKind, Posting
from core.models import LedgerEntry
from core.origin import Origin
from tests.factories import T0, assert_ledger_matches_balances, make_device, make_member


async def test_entries_record_their_origin_and_the_running_balance_in_posting_order(
    db: AsyncSession,
) -> None:
    member = await make_member(db, balance_cents=1000)
    other = await make_member(db)
    device = await make_device(db)
    postings = [
        Posting(EntryKind.SESSION_LOGIN_FEE, -100, note="fee"),
        Posting(EntryKind.SESSION_INTERVAL, 0),
        Posting(EntryKind.SESSION_INTERVAL, -300),
    ]
    origin = Origin(now=T0, device_id=device.id, request_id="r-1", actor="tester")

    balance = await ledger.post(
        db, member.member_id, postings, origin, within_credit=True, counterparty_id=other.member_id
    )

    assert balance == ledger.Balance(600, 0)
    rows = await db.execute(
        select(
            LedgerEntry.kind,
            LedgerEntry.amount_cents,
            LedgerEntry.balance_after_cents,
            LedgerEntry.device_id,
            LedgerEntry.counterparty_id,
            LedgerEntry.request_id,
            LedgerEntry.actor,
            LedgerEntry.note,
            LedgerEntry.created_at,
        )
        .where(LedgerEntry.member_id == member.member_id, LedgerEntry.kind != "opening")
        .order_by(LedgerEntry.id)
    )
    about = (device.id, other.member_id, "r-1", "tester")
    assert [tuple(row) for row in rows.all()] == [
        ("session_login_fee", -100, 900, *about, "fee", T0),
        ("session_interval", -300, 600, *about, None, T0),
    ]
    await assert_ledger_matches_balances(db)


async def test_postings_of_nothing_write_no_entry_and_report_the_balance(
    db: AsyncSession,
) -> None:
    member = await make_member(db, balance_cents=70)
    nothing = [Posting(EntryKind.SESSION_LOGIN_FEE, 0), Posting(EntryKind.SESSION_INTERVAL, 0)]

    balance = await ledger.post(db, member.member_id, nothing, Origin(now=T0), within_credit=True)

    entries = await db.scalars(
        select(LedgerEntry.kind).where(LedgerEntry.member_id == member.member_id)
    )
    assert (balance, list(entries)) == (ledger.Balance(70, 0), ["opening"])
