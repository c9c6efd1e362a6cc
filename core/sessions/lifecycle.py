"""A session as its machine lives it: start, heartbeat, end.

Hot path: row locks (`FOR UPDATE` on PostgreSQL; SQLite serialises writers with `BEGIN
IMMEDIATE`) and no ORM objects; the statements every start and end runs are hand-written SQL on
the driver connection (`core.hotpath`), the rarer ones Core. All arithmetic lives in
`core.billing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, ledger, machines
from core.billing import Tariff, affordable_seconds, intervals_due
from core.db import run
from core.errors import InsufficientFunds, MachineBusy, SessionClosed, UnknownSession
from core.hotpath.driver import Statement, driver
from core.ledger import EntryKind, Posting
from core.models import Member
from core.origin import Origin
from core.sessions.closing import Ended, close
from core.sessions.rows import LockedRow, S, of_device, open_on

# One open session per machine: the partial unique index decides a race between two starts.
_OPEN = Statement(
    "INSERT INTO sessions (device_id, member_id, card_id, login_fee_cents,"
    " price_per_minute_cents, interval_min, started_at, paid_until, last_heartbeat_at,"
    " prepaid_cents) VALUES (%(device)s, %(member)s, %(card)s, %(login_fee)s, %(per_minute)s,"
    " %(interval)s, %(now)s, %(paid_until)s, %(now)s, %(prepaid)s)"
    " ON CONFLICT (device_id) WHERE ended_at IS NULL DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class Running:
    """A session that runs (after start or a paid-up heartbeat)."""

    session_id: int
    paid_until: datetime
    remaining_s: int
    max_s: int | None
    charged_cents: int
    balance_cents: int


@dataclass(frozen=True)
class Unfunded:
    """A heartbeat was recorded but the next interval could not be paid."""

    session_id: int
    paid_until: datetime
    remaining_s: int
    balance_cents: int


def _remaining_s(paid_until: datetime, now: datetime) -> int:
    return max(0, int((paid_until - now).total_seconds()))


def _running(
    *,
    session_id: int,
    tariff: Tariff,
    paid_until: datetime,
    now: datetime,
    charged: int,
    balance: ledger.Balance,
) -> Running:
    remaining = _remaining_s(paid_until, now)
    more = affordable_seconds(tariff, spendable_cents=balance.spendable_cents)
    return Running(
        session_id=session_id,
        paid_until=paid_until,
        remaining_s=remaining,
        max_s=None if more is None else remaining + more,
        charged_cents=charged,
        balance_cents=balance.balance_cents,
    )


async def _session_of_device(db: AsyncSession, device_id: int, session_id: int) -> LockedRow:
    row = await of_device(db, device_id, session_id)
    if row is None:
        raise UnknownSession(f"no session {session_id} on this machine")
    if row.ended_at is not None:
        raise SessionClosed(f"session {session_id} has ended")
    return row


async def start(
    db: AsyncSession,
    *,
    device_id: int,
    card_uid: str,
    now: datetime,
    heartbeat_period: timedelta,
    request_id: str | None,
) -> Running:
    """Open a billed session; the same member again gets the open session back.

    It charges the login fee and prepays the first interval (more than one when intervals are
    shorter than two heartbeats).
    """
    holder = await cards.identify(db, card_uid)
    open_row = await open_on(db, device_id)
    if open_row is not None:
        return await _rejoin(db, open_row, holder.member_id, now)
    tariff = await machines.tariff_for(db, device_id=device_id, member_id=holder.member_id)
    intervals = intervals_due(tariff, now, now, heartbeat_period)
    prepaid = intervals * tariff.interval_cents
    paid_until = now + intervals * tariff.interval
    raw = await driver(db)
    opened = await raw.rows(
        _OPEN,
        {
            "device": device_id,
            "member": holder.member_id,
            "card": holder.card_id,
            "login_fee": tariff.login_fee_cents,
            "per_minute": tariff.price_per_minute_cents,
            "interval": tariff.interval_min,
            "now": raw.time(now),
            "paid_until": raw.time(paid_until),
            "prepaid": prepaid,
        },
    )
    if not opened:
        # Another start on this machine committed first (the open-session index said no).
        open_row = await open_on(db, device_id)
        if open_row is None:
            raise RuntimeError("the session another start opened here has ended already")
        return await _rejoin(db, open_row, holder.member_id, now)
    session_id = opened[0][0]
    balance = await ledger.post(
        db,
        holder.member_id,
        [
            Posting(EntryKind.SESSION_LOGIN_FEE, -tariff.login_fee_cents),
            Posting(EntryKind.SESSION_INTERVAL, -prepaid),
        ],
        Origin(now=now, device_id=device_id, request_id=request_id),
        within_credit=True,
        session_id=session_id,
    )
    if balance is None:
        needed = tariff.login_fee_cents + prepaid
        raise InsufficientFunds(
            f"starting costs {needed} cents",
            balance_cents=holder.balance_cents,
            needed_cents=needed,
        )
    return _running(
        session_id=session_id,
        tariff=tariff,
        paid_until=paid_until,
        now=now,
        charged=tariff.login_fee_cents + prepaid,
        balance=balance,
    )


async def _rejoin(db: AsyncSession, row: LockedRow, member_id: int, now: datetime) -> Running:
    if row.member_id != member_id:
        raise MachineBusy("another member is using this machine")
    return _running(
        session_id=row.id,
        tariff=row.tariff,
        paid_until=row.paid_until,
        now=now,
        charged=0,
        balance=await ledger.balance_of(db, member_id),
    )


@dataclass(frozen=True)
class Beat:
    """A recorded heartbeat's session row (locked) and its member's balance."""

    member_id: int
    tariff: Tariff
    paid_until: datetime
    prepaid_cents: int
    balance: ledger.Balance


async def heartbeat(
    db: AsyncSession,
    *,
    device_id: int,
    session_id: int,
    now: datetime,
    heartbeat_period: timedelta,
    request_id: str | None,
) -> Running | Unfunded:
    """Record proof of life; prepay the next interval(s) when the paid time runs short.

    One UPDATE records the heartbeat, locks the row and returns what the answer needs (the
    member's balance included); only a due interval costs more statements. The handlers'
    hot path runs the same UPDATE on the driver connection (`core.hotpath.sessions`).
    """
    owner = Member.id == S.member_id
    row = (
        await run(
            db,
            update(S)
            .where(S.id == session_id, S.device_id == device_id, S.ended_at.is_(None))
            .values(last_heartbeat_at=now)
            .returning(
                S.member_id,
                S.login_fee_cents,
                S.price_per_minute_cents,
                S.interval_min,
                S.paid_until,
                S.prepaid_cents,
                select(Member.balance_cents).where(owner).scalar_subquery().label("balance"),
                select(Member.credit_limit_cents).where(owner).scalar_subquery().label("credit"),
            ),
        )
    ).one_or_none()
    if row is None:
        raise await why_not_open(db, device_id, session_id)
    beat = Beat(
        member_id=row.member_id,
        tariff=Tariff(row.login_fee_cents, row.price_per_minute_cents, row.interval_min),
        paid_until=row.paid_until,
        prepaid_cents=row.prepaid_cents,
        balance=ledger.Balance(row.balance, row.credit),
    )
    return await pay_ahead(
        db,
        beat,
        session_id=session_id,
        device_id=device_id,
        now=now,
        heartbeat_period=heartbeat_period,
        request_id=request_id,
    )


async def pay_ahead(
    db: AsyncSession,
    beat: Beat,
    *,
    session_id: int,
    device_id: int,
    now: datetime,
    heartbeat_period: timedelta,
    request_id: str | None,
) -> Running | Unfunded:
    """After a recorded heartbeat: charge the interval(s) now due, if any, and say how it runs."""
    tariff, paid_until = beat.tariff, beat.paid_until
    if now >= paid_until:
        raise SessionClosed("the paid time is over")
    intervals = intervals_due(tariff, paid_until, now, heartbeat_period)
    if not intervals:
        return _running(
            session_id=session_id,
            tariff=tariff,
            paid_until=paid_until,
            now=now,
            charged=0,
            balance=beat.balance,
        )
    charged = intervals * tariff.interval_cents
    posted = await ledger.post(
        db,
        beat.member_id,
        [Posting(EntryKind.SESSION_INTERVAL, -charged)],
        Origin(now=now, device_id=device_id, request_id=request_id),
        within_credit=True,
        session_id=session_id,
    )
    if posted is None:
        remaining = _remaining_s(paid_until, now)
        return Unfunded(session_id, paid_until, remaining, beat.balance.balance_cents)
    paid_until += intervals * tariff.interval
    await run(
        db,
        update(S)
        .where(S.id == session_id)
        .values(paid_until=paid_until, prepaid_cents=beat.prepaid_cents + charged),
    )
    return _running(
        session_id=session_id,
        tariff=tariff,
        paid_until=paid_until,
        now=now,
        charged=charged,
        balance=posted,
    )


async def why_not_open(db: AsyncSession, device_id: int, session_id: int) -> Exception:
    """Why no open session `session_id` of this machine took a heartbeat."""
    ended = await run(db, select(S.ended_at).where(S.id == session_id, S.device_id == device_id))
    if ended.one_or_none() is None:
        return UnknownSession(f"no session {session_id} on this machine")
    return SessionClosed(f"session {session_id} has ended")


async def end(
    db: AsyncSession, *, device_id: int, session_id: int, now: datetime, request_id: str | None
) -> Ended:
    """The member is done: bill the started minutes used, refund the rest of the prepaid time."""
    row = await _session_of_device(db, device_id, session_id)
    return await close(
        db,
        row,
        end_at=min(now, row.paid_until),
        reason="device",
        origin=Origin(now=now, device_id=device_id, request_id=request_id),
        device_knows=True,
    )
