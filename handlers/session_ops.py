"""`session/start`, `session/heartbeat`, `session/end`."""

from __future__ import annotations

from broker.contract.sessions import (
    SessionAnswer,
    SessionEndAnswer,
    SessionEndRequest,
    SessionHeartbeatRequest,
    SessionStartRequest,
)
from broker.errors import ErrorCode
from core import sessions
from core.clock import rfc3339
from handlers.context import Decline, OpContext


def _answer(running: sessions.Running) -> SessionAnswer:
    return SessionAnswer(
        session_id=running.session_id,
        paid_until=rfc3339(running.paid_until),
        remaining_s=running.remaining_s,
        max_s=running.max_s,
        charged_cents=running.charged_cents,
        balance_cents=running.balance_cents,
    )


async def session_start(req: SessionStartRequest, ctx: OpContext) -> SessionAnswer:
    """Open a billed session for the card's member on this machine."""
    running = await sessions.start(
        ctx.db,
        device_id=ctx.device.id,
        card_uid=req.card,
        now=ctx.now,
        heartbeat_period=ctx.heartbeat_period,
        request_id=ctx.request_id,
    )
    return _answer(running)


async def session_heartbeat(
    req: SessionHeartbeatRequest, ctx: OpContext
) -> SessionAnswer | Decline:
    """Keep the session alive; an unpaid next interval is `insufficient_funds` with paid_until."""
    outcome = await sessions.heartbeat(
        ctx.db,
        device_id=ctx.device.id,
        session_id=req.session_id,
        now=ctx.now,
        heartbeat_period=ctx.heartbeat_period,
        request_id=ctx.request_id,
    )
    if isinstance(outcome, sessions.Unfunded):
        return Decline(
            ErrorCode.INSUFFICIENT_FUNDS,
            "the next interval cannot be paid: switch off at paid_until",
            {
                "session_id": outcome.session_id,
                "paid_until": rfc3339(outcome.paid_until),
                "remaining_s": outcome.remaining_s,
                "balance_cents": outcome.balance_cents,
            },
        )
    return _answer(outcome)


async def session_end(req: SessionEndRequest, ctx: OpContext) -> SessionEndAnswer:
    """Close the session, bill the minutes used and refund the rest."""
    ended = await sessions.end(
        ctx.db,
        device_id=ctx.device.id,
        session_id=req.session_id,
        now=ctx.now,
        request_id=ctx.request_id,
    )
    return SessionEndAnswer(
        session_id=ended.session_id,
        duration_s=ended.duration_s,
        total_cents=ended.total_cents,
        refund_cents=ended.refund_cents,
        balance_cents=ended.balance_cents,
    )
