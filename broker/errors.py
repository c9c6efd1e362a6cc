"""The closed set of error codes a device can receive (PROTOCOL.md documents each)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNKNOWN_OP = "unknown_op"
    FORBIDDEN_OP = "forbidden_op"
    UNKNOWN_CARD = "unknown_card"
    CARD_BLOCKED = "card_blocked"
    NOT_AUTHORIZED = "not_authorized"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    MACHINE_BUSY = "machine_busy"
    UNKNOWN_SESSION = "unknown_session"
    SESSION_CLOSED = "session_closed"
    UNKNOWN_PRODUCT = "unknown_product"
    PRODUCT_INACTIVE = "product_inactive"
    OUT_OF_STOCK = "out_of_stock"
    CARD_EXISTS = "card_exists"
    CARD_LINKED = "card_linked"
    UNKNOWN_TARGET = "unknown_target"
    PIN_REQUIRED = "pin_required"
    PIN_INVALID = "pin_invalid"
    PIN_LOCKED = "pin_locked"
    UNKNOWN_ITEM = "unknown_item"
    ITEM_RENTED = "item_rented"
    ITEM_NOT_RENTED = "item_not_rented"
    ITEM_RESERVED = "item_reserved"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


ERROR_MEANINGS: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "The payload is not a valid request: the message names the field.",
    ErrorCode.UNKNOWN_OP: "No such operation.",
    ErrorCode.FORBIDDEN_OP: "This device's kind may not use this operation, or the device is "
    "not registered or disabled.",
    ErrorCode.UNKNOWN_CARD: "No member has this card.",
    ErrorCode.CARD_BLOCKED: "The card was blocked (reported lost).",
    ErrorCode.NOT_AUTHORIZED: "The member may not use this machine or item.",
    ErrorCode.INSUFFICIENT_FUNDS: "The balance (plus credit limit) does not cover the cost.",
    ErrorCode.MACHINE_BUSY: "Another member's session is open on this machine.",
    ErrorCode.UNKNOWN_SESSION: "No such session on this machine.",
    ErrorCode.SESSION_CLOSED: "The session has already ended.",
    ErrorCode.UNKNOWN_PRODUCT: "No product has this EAN or alias.",
    ErrorCode.PRODUCT_INACTIVE: "The product is not for sale.",
    ErrorCode.OUT_OF_STOCK: "Not enough stock for the basket.",
    ErrorCode.CARD_EXISTS: "The card is already registered.",
    ErrorCode.CARD_LINKED: "The card is already linked to an account.",
    ErrorCode.UNKNOWN_TARGET: "No such cash box.",
    ErrorCode.PIN_REQUIRED: "This action needs a PIN.",
    ErrorCode.PIN_INVALID: "Wrong PIN.",
    ErrorCode.PIN_LOCKED: "Too many wrong PINs: locked for 15 minutes.",
    ErrorCode.UNKNOWN_ITEM: "No rental item has this TID.",
    ErrorCode.ITEM_RENTED: "The item is out already.",
    ErrorCode.ITEM_NOT_RENTED: "The item is not out.",
    ErrorCode.ITEM_RESERVED: "A project reserved the item for now: only its members may rent "
    "it until `until`.",
    ErrorCode.RATE_LIMITED: "Too many requests from this device: slow down and retry.",
    ErrorCode.UNAVAILABLE: "The server cannot reach its database: retry with the same id.",
    ErrorCode.INTERNAL: "Unexpected server error: retry with the same id; report it if it stays.",
}
