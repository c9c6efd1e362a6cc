"""The operations of rental stations: `rental/status`, `rental/rent`, `rental/return`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from broker.contract.common import CardUid, RowId, Seconds, Timestamp, WireModel, upper_case
from broker.contract.spec import RENTAL, OpSpec
from core.formats import TID_PATTERN

# The pattern sits before the upper-casing validator so that it also appears in the JSON Schema.
Tid = Annotated[
    str,
    StringConstraints(pattern=TID_PATTERN),
    BeforeValidator(upper_case),
    Field(
        description="UHF tag id (TID): 8-64 hex characters (upper case on the wire; "
        "lower case is accepted).",
        examples=["E2801160600002054F3A1B7C"],
    ),
]
RentalId = Field(description="The rental's id: one per time an item goes out.")


class RentalStatusRequest(WireModel):
    tid: Tid


class RentalStatusAnswer(WireModel):
    """The item and whether it is out; who has it is not shown (privacy)."""

    tid: Tid
    name: str
    description: str | None
    out: bool
    since: Timestamp | None = Field(description="When it went out; null when it is in.")
    rental_id: RowId | None = Field(description="The open rental; null when the item is in.")


class RentalRentRequest(WireModel):
    card: CardUid
    tid: Tid


class RentalRentAnswer(WireModel):
    rental_id: RowId = RentalId
    tid: Tid
    name: str
    since: Timestamp


class RentalReturnRequest(WireModel):
    tid: Tid


class RentalReturnAnswer(WireModel):
    rental_id: RowId = RentalId
    duration_s: Seconds = Field(description="How long the item was out, in whole seconds.")
    tid: Tid
    name: str


OPS = (
    OpSpec(
        "rental/status",
        RentalStatusRequest,
        RentalStatusAnswer,
        RENTAL,
        "An item by its tag: name, description, and whether and since when it is out.",
    ),
    OpSpec(
        "rental/rent",
        RentalRentRequest,
        RentalRentAnswer,
        RENTAL,
        "Lend the item to the card's member (needs a rental permission); an item that is "
        "out already is `item_rented` with `since`. While a project has the item reserved, "
        "only its members may rent it (without a rental permission of their own); anyone "
        "else gets `item_reserved` with `until`, the reservation's end (RFC 3339 UTC).",
    ),
    OpSpec(
        "rental/return",
        RentalReturnRequest,
        RentalReturnAnswer,
        RENTAL,
        "Take an item back, at any rental station.",
    ),
)
