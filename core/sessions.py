"""Machine sessions: start, heartbeat, end, admin end and the reaper, on the ledger invariant.

Hot path: Core statements and row locks (`FOR UPDATE` on PostgreSQL; SQLite serialises writers
with `BEGIN IMMEDIATE`), never ORM object loading. All arithmetic lives in `core.billing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, ledger, machines
from core.billing import Tariff, affordable_seconds, intervals_due, settle
from core.db import run
from core.errors import InsufficientFunds, MachineBusy, SessionClosed, UnknownSession
from core.ledger import EntryKind, Posting
from core.models import Device, MachineSession, Member
from core.origin import Origin
from core.paging import newest_first

REAP_AFTER_HEARTBEATS = 3
S = MachineSession
_COLUMNS = (
    S.id,
    S.device_id,
    S.member_id,
    S.login_fee_cents,
    S.price_per_minute_cents,
    S.interval_min,
    S.started_at,
    S.paid_until,
    S.last_heartbeat_at,
    S.prepaid_cents,
    S.ended_at,
    Device.slug,
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


@dataclass(frozen=True)
class Ended:
    session_id: int
    device_id: int
    device_slug: str
    member_id: int
    ended_at: datetime
    reason: str
    duration_s: int
    total_cents: int
    refund_cents: int
    balance_cents: int


@dataclass(frozen=True)
class _Open:
    """The columns of a locked session row that the rules need."""

    id: int
    device_id: int
    member_id: int
    login_fee_cents: int
    price_per_minute_cents: int
    interval_min: int
    started_at: datetime
    paid_until: datetime
    last_heartbeat_at: datetime
    prepaid_cents: int
    ended_at: datetime | None
    slug: str

    @property
    def tariff(self) -> Tariff:
        return Tariff(self.login_fee_cents, self.price_per_minute_cents, self.interval_min)


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


async def _locked(db: AsyncSession, *conditions: Any) -> _Open | None:
    statement = (
        select(*_COLUMNS)
        .join(Device, Device.id == S.device_id)
        .where(*conditions)
        .with_for_update(of=S)
    )
    row = (await run(db, statement)).one_or_none()
    return None if row is None else _Open(**row._mapping)


async def _session_of_device(db: AsyncSession, device_id: int, session_id: int) -> _Open:
    row = await _locked(db, S.id == session_id, S.device_id == device_id)
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
    open_row = await _locked(db, S.device_id == device_id, S.ended_at.is_(None))
    if open_row is not None:
        return await _rejoin(db, open_row, holder.member_id, now)
    tariff = await machines.tariff_for(db, device_id=device_id, member_id=holder.member_id)
    intervals = intervals_due(tariff, now, now, heartbeat_period)
    prepaid = intervals * tariff.interval_cents
    paid_until = now + intervals * tariff.interval
    try:
        async with db.begin_nested():
            session_id = (
                await run(
                    db,
                    insert(S)
                    .values(
                        device_id=device_id,
                        member_id=holder.member_id,
                        card_id=holder.card_id,
                        login_fee_cents=tariff.login_fee_cents,
                        price_per_minute_cents=tariff.price_per_minute_cents,
                        interval_min=tariff.interval_min,
                        started_at=now,
                        paid_until=paid_until,
                        last_heartbeat_at=now,
                        prepaid_cents=prepaid,
                    )
                    .returning(S.id),
                )
            ).scalar_one()
    except IntegrityError:
        # Another start on this machine committed first (the open-session index said no).
        open_row = await _locked(db, S.device_id == device_id, S.ended_at.is_(None))
        if open_row is None:
            raise
        return await _rejoin(db, open_row, holder.member_id, now)
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


async def _rejoin(db: AsyncSession, row: _Open, member_id: int, now: datetime) -> Running:
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

    The hot path: one UPDATE records the heartbeat, locks the row and returns what the answer
    needs (the member's balance included); only a due interval costs more statements.
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
        raise await _why_not_open(db, device_id, session_id)
    paid_until, balance = row.paid_until, row.balance
    if now >= paid_until:
        raise SessionClosed("the paid time is over")
    tariff = Tariff(row.login_fee_cents, row.price_per_minute_cents, row.interval_min)
    intervals = intervals_due(tariff, paid_until, now, heartbeat_period)
    if not intervals:
        return _running(
            session_id=session_id,
            tariff=tariff,
            paid_until=paid_until,
            now=now,
            charged=0,
            balance=ledger.Balance(balance, row.credit),
        )
    charged = intervals * tariff.interval_cents
    posted = await ledger.post(
        db,
        row.member_id,
        [Posting(EntryKind.SESSION_INTERVAL, -charged)],
        Origin(now=now, device_id=device_id, request_id=request_id),
        within_credit=True,
        session_id=session_id,
    )
    if posted is None:
        return Unfunded(session_id, paid_until, _remaining_s(paid_until, now), balance)
    paid_until += intervals * tariff.interval
    await run(
        db,
        update(S)
        .where(S.id == session_id)
        .values(paid_until=paid_until, prepaid_cents=row.prepaid_cents + charged),
    )
    return _running(
        session_id=session_id,
        tariff=tariff,
        paid_until=paid_until,
        now=now,
        charged=charged,
        balance=posted,
    )


async def _why_not_open(db: AsyncSession, device_id: int, session_id: int) -> Exception:
    ended = await run(db, select(S.ended_at).where(S.id == session_id, S.device_id == device_id))
    if ended.one_or_none() is None:
        return UnknownSession(f"no session {session_id} on this machine")
    return SessionClosed(f"session {session_id} has ended")


async def end(
    db: AsyncSession, *, device_id: int, session_id: int, now: datetime, request_id: str | None
) -> Ended:
    """The member is done: bill the started minutes used, refund the rest of the prepaid time."""
    row = await _session_of_device(db, device_id, session_id)
    return await _close(
        db,
        row,
        end_at=min(now, row.paid_until),
        reason="device",
        origin=Origin(now=now, device_id=device_id, request_id=request_id),
        device_knows=True,
    )


async def admin_end(db: AsyncSession, *, session_id: int, now: datetime, actor: str) -> Ended:
    """An admin closes a session; the handler service then tells the device (`untold`)."""
    row = await _locked(db, S.id == session_id)
    if row is None:
        raise UnknownSession(f"no session {session_id}")
    if row.ended_at is not None:
        raise SessionClosed(f"session {session_id} has ended")
    return await _close(
        db,
        row,
        end_at=min(now, row.paid_until),
        reason="admin",
        origin=Origin(now=now, device_id=row.device_id, actor=actor),
    )


async def reap(db: AsyncSession, *, now: datetime, heartbeat_period: timedelta) -> list[Ended]:
    """Close sessions past their paid time or silent for 3 heartbeat periods.

    Each is billed to its last proof of life. Rows another worker is reaping are skipped.
    """
    silent_since = now - REAP_AFTER_HEARTBEATS * heartbeat_period
    statement = (
        select(*_COLUMNS)
        .join(Device, Device.id == S.device_id)
        .where(S.ended_at.is_(None))
        .where(or_(S.paid_until <= now, S.last_heartbeat_at <= silent_since))
        .with_for_update(of=S, skip_locked=True)
    )
    closed = []
    for found in (await run(db, statement)).all():
        row = _Open(**found._mapping)
        reason = "expired" if row.paid_until <= now else "no_heartbeat"
        closed.append(
            await _close(
                db,
                row,
                end_at=min(row.last_heartbeat_at, row.paid_until),
                reason=reason,
                origin=Origin(now=now, device_id=row.device_id, actor="reaper"),
            )
        )
    return closed


async def _close(
    db: AsyncSession,
    row: _Open,
    *,
    end_at: datetime,
    reason: str,
    origin: Origin,
    device_knows: bool = False,
) -> Ended:
    bill = settle(row.tariff, started=row.started_at, ended=end_at, prepaid_cents=row.prepaid_cents)
    balance = await ledger.post(
        db,
        row.member_id,
        [Posting(EntryKind.SESSION_REFUND, bill.refund_cents)],
        origin,
        within_credit=False,
        session_id=row.id,
    )
    assert balance is not None  # a refund is a credit: no floor applies
    await run(
        db,
        update(S)
        .where(S.id == row.id)
        .values(
            ended_at=end_at,
            end_reason=reason,
            duration_s=bill.duration_s,
            total_cents=bill.total_cents,
            refund_cents=bill.refund_cents,
            device_told_at=origin.now if device_knows else None,
        ),
    )
    return Ended(
        session_id=row.id,
        device_id=row.device_id,
        device_slug=row.slug,
        member_id=row.member_id,
        ended_at=end_at,
        reason=reason,
        duration_s=bill.duration_s,
        total_cents=bill.total_cents,
        refund_cents=bill.refund_cents,
        balance_cents=balance.balance_cents,
    )


@dataclass(frozen=True)
class Notice:
    """What `cmd/session/terminate` tells a device about a session closed without it."""

    session_id: int
    device_slug: str
    reason: str
    ended_at: datetime
    duration_s: int
    total_cents: int
    refund_cents: int


async def untold(db: AsyncSession, *, limit: int = 100) -> list[Notice]:
    """Sessions the reaper or an admin closed whose device has not been told yet (locked)."""
    statement = (
        select(
            S.id.label("session_id"),
            Device.slug.label("device_slug"),
            S.end_reason.label("reason"),
            S.ended_at,
            S.duration_s,
            S.total_cents,
            S.refund_cents,
        )
        .join(Device, Device.id == S.device_id)
        .where(S.ended_at.is_not(None), S.device_told_at.is_(None))
        .order_by(S.ended_at)
        .limit(limit)
        .with_for_update(of=S, skip_locked=True)
    )
    # Columns that are nullable in general are set on every ended session.
    return [Notice(**row._mapping) for row in (await run(db, statement)).all()]


async def mark_told(db: AsyncSession, session_ids: list[int], *, now: datetime) -> None:
    if session_ids:
        await run(db, update(S).where(S.id.in_(session_ids)).values(device_told_at=now))


@dataclass(frozen=True)
class Record:
    """A session as the admin pages list it: open or ended, with its bill once ended."""

    session_id: int
    device_slug: str
    member_id: int
    member_name: str
    tariff: Tariff
    started_at: datetime
    paid_until: datetime
    last_heartbeat_at: datetime
    prepaid_cents: int
    ended_at: datetime | None
    end_reason: str | None
    duration_s: int | None
    total_cents: int | None
    refund_cents: int | None
    device_told_at: datetime | None


async def records(
    db: AsyncSession,
    *,
    limit: int,
    before_id: int | None = None,
    is_open: bool | None = None,
    device_id: int | None = None,
    managed_by: str | None = None,
    session_id: int | None = None,
) -> list[Record]:
    """Sessions newest first, `limit` at most from below `before_id`.

    `is_open` keeps only open (True) or ended (False) ones; `device_id` one machine's;
    `managed_by` only the machines this OIDC subject is a sub-admin of; `session_id` one.
    """
    statement = (
        select(
            *_COLUMNS,
            Member.name,
            S.end_reason,
            S.duration_s,
            S.total_cents,
            S.refund_cents,
            S.device_told_at,
        )
        .join(Device, Device.id == S.device_id)
        .join(Member, Member.id == S.member_id)
    )
    statement = newest_first(statement, S.id, before_id=before_id, limit=limit)
    if is_open is not None:
        statement = statement.where(S.ended_at.is_(None) if is_open else S.ended_at.is_not(None))
    if device_id is not None:
        statement = statement.where(S.device_id == device_id)
    if session_id is not None:
        statement = statement.where(S.id == session_id)
    if managed_by is not None:
        statement = statement.where(S.device_id.in_(machines.managed_devices(managed_by)))
    return [
        Record(
            session_id=row.id,
            device_slug=row.slug,
            member_id=row.member_id,
            member_name=row.name,
            tariff=Tariff(row.login_fee_cents, row.price_per_minute_cents, row.interval_min),
            started_at=row.started_at,
            paid_until=row.paid_until,
            last_heartbeat_at=row.last_heartbeat_at,
            prepaid_cents=row.prepaid_cents,
            ended_at=row.ended_at,
            end_reason=row.end_reason,
            duration_s=row.duration_s,
            total_cents=row.total_cents,
            refund_cents=row.refund_cents,
            device_told_at=row.device_told_at,
        )
        for row in (await run(db, statement)).all()
    ]


async def record(db: AsyncSession, session_id: int) -> Record:
    """One session, or UnknownSession."""
    found = await records(db, limit=1, session_id=session_id)
    if not found:
        raise UnknownSession(f"no session {session_id}")
    return found[0]


async def device_of(db: AsyncSession, session_id: int) -> int | None:
    """The machine a session runs or ran on, or None for an unknown session."""
    found: int | None = await db.scalar(select(S.device_id).where(S.id == session_id))
    return found
