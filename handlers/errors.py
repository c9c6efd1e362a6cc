"""The one table from domain errors to wire error codes."""

from __future__ import annotations

from broker.errors import ErrorCode
from core import errors

DOMAIN_CODES: dict[type[errors.DomainError], ErrorCode] = {
    errors.UnknownCard: ErrorCode.UNKNOWN_CARD,
    errors.CardBlocked: ErrorCode.CARD_BLOCKED,
    errors.NotAuthorized: ErrorCode.NOT_AUTHORIZED,
    errors.InsufficientFunds: ErrorCode.INSUFFICIENT_FUNDS,
    errors.MachineBusy: ErrorCode.MACHINE_BUSY,
    errors.UnknownSession: ErrorCode.UNKNOWN_SESSION,
    errors.SessionClosed: ErrorCode.SESSION_CLOSED,
}


def code_for(error: errors.DomainError) -> ErrorCode:
    for cls in type(error).__mro__:
        code = DOMAIN_CODES.get(cls)
        if code is not None:
            return code
    return ErrorCode.INTERNAL
