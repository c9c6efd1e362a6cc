"""The operations of machine controllers."""

from __future__ import annotations

from broker.contract.sessions import (
    SessionAnswer,
    SessionEndAnswer,
    SessionEndRequest,
    SessionHeartbeatRequest,
    SessionStartRequest,
)
from broker.contract.spec import MACHINE, OpSpec

OPS = (
    OpSpec(
        "session/start",
        SessionStartRequest,
        SessionAnswer,
        MACHINE,
        "Open a session: charges the login fee and the first interval in advance.",
    ),
    OpSpec(
        "session/heartbeat",
        SessionHeartbeatRequest,
        SessionAnswer,
        MACHINE,
        "Proof of life; prepays the next interval when the paid time runs short.",
    ),
    OpSpec(
        "session/end",
        SessionEndRequest,
        SessionEndAnswer,
        MACHINE,
        "Close the session: bills each started minute and refunds the rest.",
    ),
)
