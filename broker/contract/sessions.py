"""`session/start`, `session/heartbeat`, `session/end` and the `cmd/session/terminate` command."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from broker.contract.common import CardUid, Cents, Count, RowId, Seconds, Timestamp, WireModel
from core.formats import BIGINT_MAX

SessionId = Field(ge=1, le=BIGINT_MAX, description="The id `session/start` answered with.")


class SessionStartRequest(WireModel):
    card: CardUid


class SessionHeartbeatRequest(WireModel):
    session_id: int = SessionId


class SessionEndRequest(WireModel):
    session_id: int = SessionId


class SessionAnswer(WireModel):
    """The state of a running session, after start or heartbeat."""

    session_id: RowId
    paid_until: Timestamp = Field(
        description="Switch the machine off at this time unless a later heartbeat extends it."
    )
    remaining_s: Seconds = Field(description="Seconds until paid_until.")
    max_s: Count | None = Field(
        description="Seconds the member's money lasts in all, counting "
        "the paid time; null on a free machine."
    )
    charged_cents: Cents = Field(description="What this request charged.")
    balance_cents: Cents


class SessionEndAnswer(WireModel):
    session_id: RowId
    duration_s: Seconds
    total_cents: Cents = Field(description="The whole session's cost, login fee included.")
    refund_cents: Cents = Field(description="Unused prepaid time given back.")
    balance_cents: Cents


class SessionTerminateCommand(WireModel):
    """Sent on `cmd/session/terminate` when the reaper or an admin closed a session."""

    session_id: RowId
    reason: Literal["admin", "expired", "no_heartbeat"]
    ended_at: Timestamp
    duration_s: Seconds
    total_cents: Cents
    refund_cents: Cents
