"""The operations of checkout terminals: scan, buy a basket, register a card, link a card."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from broker.contract.common import CardUid, Cents, Count, RowId, Seconds, Timestamp, WireModel
from broker.contract.spec import CHECKOUT, OpSpec
from core.formats import EAN_PATTERN, MAX_LINES, MAX_QTY, REGISTER_NAME_MAX
from core.text import OneLine

Ean = Annotated[
    str,
    StringConstraints(pattern=EAN_PATTERN),
    Field(
        description="EAN/GTIN: 8 to 14 digits; an alias EAN works too.", examples=["4029764001807"]
    ),
]


class ProductScanRequest(WireModel):
    ean: Ean


class ProductAnswer(WireModel):
    ean: str = Field(description="The product's primary EAN (also when an alias was scanned).")
    name: str
    price_cents: Cents
    stock: Count = Field(description="Units in stock; negative only where that is allowed.")
    category: str | None
    allow_negative_stock: bool


class BasketItem(WireModel):
    ean: Ean
    qty: int = Field(ge=1, le=MAX_QTY)


class CheckoutPurchaseRequest(WireModel):
    card: CardUid
    items: list[BasketItem] = Field(
        min_length=1,
        max_length=MAX_LINES,
        description="The basket; the same EAN twice is summed. All lines are sold or none.",
    )


class PurchaseLine(WireModel):
    ean: str = Field(
        description="The product's primary EAN; an alias and its product are one line."
    )
    name: str
    qty: int = Field(ge=1, le=MAX_QTY * MAX_LINES, description="Summed over the basket.")
    price_cents: Cents = Field(description="The unit price.")
    total_cents: Cents


class CheckoutPurchaseAnswer(WireModel):
    lines: list[PurchaseLine]
    total_cents: Cents
    balance_cents: Cents = Field(description="The member's balance after paying.")


class CardRegisterRequest(WireModel):
    card: CardUid
    name: Annotated[str, OneLine(REGISTER_NAME_MAX)] | None = Field(
        default=None, description='Without it the member is "Member <last 4 hex of the UID>".'
    )


class CardRegisterAnswer(WireModel):
    member_id: RowId
    name: str
    balance_cents: Cents


class CardLinkRequest(WireModel):
    card: CardUid


class CardLinkAnswer(WireModel):
    url: str = Field(description="Show it as a QR code: the holder logs in there to link the card.")
    expires_at: Timestamp
    expires_s: Seconds = Field(description="Seconds the URL stays valid (it works once).")


OPS = (
    OpSpec(
        "product/scan",
        ProductScanRequest,
        ProductAnswer,
        CHECKOUT,
        "The product an EAN or alias names: price, stock and category.",
    ),
    OpSpec(
        "checkout/purchase",
        CheckoutPurchaseRequest,
        CheckoutPurchaseAnswer,
        CHECKOUT,
        "Sell a basket to the card's member: every line or none, one ledger entry per line.",
    ),
    OpSpec(
        "card/register",
        CardRegisterRequest,
        CardRegisterAnswer,
        CHECKOUT,
        "A new member with this card and a balance of 0 (the terminal reads the card twice).",
    ),
    OpSpec(
        "card/link",
        CardLinkRequest,
        CardLinkAnswer,
        CHECKOUT,
        "A single-use URL, valid 15 minutes, where the card's holder links a web login.",
        # The answer carries a secret: it is not kept for replays (a retry gets a new URL).
        remember_answer=False,
    ),
)
