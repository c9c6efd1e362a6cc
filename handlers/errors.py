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
    errors.UnknownProduct: ErrorCode.UNKNOWN_PRODUCT,
    errors.ProductInactive: ErrorCode.PRODUCT_INACTIVE,
    errors.OutOfStock: ErrorCode.OUT_OF_STOCK,
    errors.CardExists: ErrorCode.CARD_EXISTS,
    errors.CardLinked: ErrorCode.CARD_LINKED,
    errors.UnknownTarget: ErrorCode.UNKNOWN_TARGET,
    errors.PinRequired: ErrorCode.PIN_REQUIRED,
    errors.PinInvalid: ErrorCode.PIN_INVALID,
    errors.PinLocked: ErrorCode.PIN_LOCKED,
    errors.UnknownItem: ErrorCode.UNKNOWN_ITEM,
    errors.ItemRented: ErrorCode.ITEM_RENTED,
    errors.ItemNotRented: ErrorCode.ITEM_NOT_RENTED,
}


def code_for(error: errors.DomainError) -> ErrorCode:
    for cls in type(error).__mro__:
        code = DOMAIN_CODES.get(cls)
        if code is not None:
            return code
    return ErrorCode.INTERNAL
