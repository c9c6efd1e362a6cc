"""`session/heartbeat` in one statement: record it, lock the row, read the balance, unless the
request id has an answer already (then that answer is the reply, `core.idempotency`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import idempotency, ledger
from core.billing import Tariff
from core.hotpath.driver import Driver, Statement
from core.idempotency import StoredAnswer
from core.sessions.lifecycle import Beat, Running, Unfunded, pay_ahead, why_not_open

_BEAT = Statement(
    "UPDATE sessions SET last_heartbeat_at = %(now)s"
    " WHERE id = %(session)s AND device_id = %(device)s AND ended_at IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM processed_requests"
    "  WHERE device_id = %(device)s AND request_id = %(request)s)"
    " RETURNING member_id, login_fee_cents, price_per_minute_cents, interval_min, paid_until,"
    " prepaid_cents,"
    " (SELECT balance_cents FROM members WHERE members.id = sessions.member_id),"
    " (SELECT credit_limit_cents FROM members WHERE members.id = sessions.member_id)"
)


async def heartbeat(
    db: AsyncSession,
    driver: Driver,
    *,
    device_id: int,
    session_id: int,
    now: datetime,
    heartbeat_period: timedelta,
    request_id: str,
) -> Running | Unfunded | StoredAnswer:
    """`core.sessions.heartbeat` with the stored-answer lookup folded in.

    The rare branches (an interval due, no open session) take the Core statements on `db`,
    which is the same connection and transaction.
    """
    params = {
        "now": driver.time(now),
        "session": session_id,
        "device": device_id,
        "request": request_id,
    }
    rows = await driver.rows(_BEAT, params)
    if not rows:
        stored = await idempotency.lookup(driver, device_id, request_id)
        if stored is not None:
            return stored
        raise await why_not_open(db, device_id, session_id)
    member_id, login_fee, per_minute, interval_min, paid_until, prepaid, balance, credit = rows[0]
    beat = Beat(
        member_id=member_id,
        tariff=Tariff(login_fee, per_minute, interval_min),
        paid_until=driver.read_time(paid_until),
        prepaid_cents=prepaid,
        balance=ledger.Balance(balance, credit),
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
