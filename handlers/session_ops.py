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
from core.hotpath import sessions as hot_sessions
from core.idempotency import StoredAnswer
from handlers.answers import answer, wire_fields
from handlers.context import Decline, HotContext, OpContext


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
    return answer(SessionAnswer, running)


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
    return _heartbeat_answer(outcome)


async def session_heartbeat_hot(
    req: SessionHeartbeatRequest, ctx: HotContext
) -> SessionAnswer | Decline | StoredAnswer:
    """`session_heartbeat` on the driver connection; a retry finds its stored answer."""
    outcome = await hot_sessions.heartbeat(
        ctx.db,
        ctx.driver,
        device_id=ctx.device.id,
        session_id=req.session_id,
        now=ctx.now,
        heartbeat_period=ctx.heartbeat_period,
        request_id=ctx.request_id,
    )
    if isinstance(outcome, StoredAnswer):
        return outcome
    return _heartbeat_answer(outcome)


def _heartbeat_answer(outcome: sessions.Running | sessions.Unfunded) -> SessionAnswer | Decline:
    if isinstance(outcome, sessions.Unfunded):
        return Decline(
            ErrorCode.INSUFFICIENT_FUNDS,
            "the next interval cannot be paid: switch off at paid_until",
            wire_fields(outcome),
        )
    return answer(SessionAnswer, outcome)


async def session_end(req: SessionEndRequest, ctx: OpContext) -> SessionEndAnswer:
    """Close the session, bill the minutes used and refund the rest."""
    ended = await sessions.end(
        ctx.db,
        device_id=ctx.device.id,
        session_id=req.session_id,
        now=ctx.now,
        request_id=ctx.request_id,
    )
    return answer(SessionEndAnswer, ended)
