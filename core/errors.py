"""Domain errors raised by `core` services, each declaring its answer once.

A class names its `code` (the `error` string both the MQTT answer and the HTTP body carry) and
its HTTP `status`; a subclass that gives none keeps its parent's status. The handler runtime
and the web API read both from here (handlers/errors.py, api/errors.py), so renaming a class
changes no answer.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import ClassVar


class DomainError(Exception):
    """A rule said no. Carries a human message and optional answer fields."""

    code: ClassVar[str]
    status: ClassVar[int] = HTTPStatus.CONFLICT.value

    def __init_subclass__(cls, *, code: str, status: HTTPStatus | None = None) -> None:
        super().__init_subclass__()
        cls.code = code
        if status is not None:
            cls.status = status.value

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class Conflict(DomainError, code="conflict"):
    """Something with that key exists already (a slug, a card UID)."""


class NotFound(DomainError, code="not_found", status=HTTPStatus.NOT_FOUND):
    """Nothing has the id or name the caller gave (a member, a device, an alias)."""


class NotAuthorized(DomainError, code="not_authorized", status=HTTPStatus.FORBIDDEN):
    """The caller or member may not do this (use a machine, transfer to themselves)."""


class UnknownCard(DomainError, code="unknown_card", status=HTTPStatus.NOT_FOUND):
    """No member has this card."""


class CardBlocked(DomainError, code="card_blocked"):
    """The card was blocked (reported lost)."""


class CardExists(DomainError, code="card_exists"):
    """The card is already registered."""


class CardLinked(DomainError, code="card_linked"):
    """The card's member is already linked to a login."""


class InsufficientFunds(DomainError, code="insufficient_funds"):
    """The balance (plus credit limit) does not cover the cost."""


class MachineBusy(DomainError, code="machine_busy"):
    """Another member's session is open on this machine."""


class UnknownSession(DomainError, code="unknown_session", status=HTTPStatus.NOT_FOUND):
    """No such session on this machine."""


class SessionClosed(DomainError, code="session_closed"):
    """The session has already ended."""


class UnknownProduct(DomainError, code="unknown_product", status=HTTPStatus.NOT_FOUND):
    """No product has this EAN or alias."""


class ProductInactive(DomainError, code="product_inactive"):
    """The product is not for sale."""


class OutOfStock(DomainError, code="out_of_stock"):
    """Not enough stock for the basket."""


class UnknownTarget(DomainError, code="unknown_target", status=HTTPStatus.NOT_FOUND):
    """No such cash box."""


class PinRequired(DomainError, code="pin_required"):
    """This action needs the member's PIN."""


class PinInvalid(DomainError, code="pin_invalid"):
    """Wrong PIN."""


class PinLocked(DomainError, code="pin_locked"):
    """Too many wrong PINs: PIN actions wait until the lock ends."""


class UnknownItem(DomainError, code="unknown_item", status=HTTPStatus.NOT_FOUND):
    """No rental item has this TID."""


class ItemRented(DomainError, code="item_rented"):
    """The item is out already."""


class ItemNotRented(DomainError, code="item_not_rented"):
    """The item is not out."""


class ItemReserved(DomainError, code="item_reserved"):
    """A project reserved the item for this time (`until`: the reservation's end)."""


class InvalidTransition(DomainError, code="invalid_transition"):
    """A project or request cannot move from its status to the one asked for."""


class ProjectNotActive(DomainError, code="project_not_active"):
    """Only an active project can request equipment."""


class ProjectClosed(DomainError, code="project_closed"):
    """A rejected, completed or archived project keeps its members as they are."""


class LeaderRequired(DomainError, code="leader_required"):
    """A project keeps its leaders: they cannot be removed, nor the last one demoted."""


class InvalidPeriod(DomainError, code="invalid_period", status=HTTPStatus.BAD_REQUEST):
    """A request's period is empty, too long, or starts in the past."""


class ReasonRequired(DomainError, code="reason_required", status=HTTPStatus.BAD_REQUEST):
    """Rejecting needs a reason, which the member reads."""
