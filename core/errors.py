"""Domain errors raised by `core` services; the handler runtime maps each to a wire code."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. Carries a human message and optional answer fields."""

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class UnknownCard(DomainError):
    pass


class CardBlocked(DomainError):
    pass


class Conflict(DomainError):
    """Something with that key exists already (a slug, a card UID)."""


class NotFound(DomainError):
    pass


class NotAuthorized(DomainError):
    pass


class InsufficientFunds(DomainError):
    pass


class MachineBusy(DomainError):
    pass


class UnknownSession(DomainError):
    pass


class SessionClosed(DomainError):
    pass


class UnknownProduct(DomainError):
    pass


class ProductInactive(DomainError):
    pass


class OutOfStock(DomainError):
    pass


class CardExists(DomainError):
    pass


class CardLinked(DomainError):
    pass


class UnknownTarget(DomainError):
    pass


class PinRequired(DomainError):
    pass


class PinInvalid(DomainError):
    pass


class PinLocked(DomainError):
    pass


class UnknownItem(DomainError):
    pass


class ItemRented(DomainError):
    pass


class ItemNotRented(DomainError):
    pass
