"""Field types and the base model shared by every operation's request and answer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from core.formats import BIGINT_MAX, CARD_UID_PATTERN


def upper_case(value: Any) -> Any:
    """A `BeforeValidator` for hex identifiers, which travel in upper case."""
    return value.upper() if isinstance(value, str) else value


# The pattern sits before the upper-casing validator so that it also appears in the JSON Schema.
CardUid = Annotated[
    str,
    StringConstraints(pattern=CARD_UID_PATTERN),
    BeforeValidator(upper_case),
    Field(
        description="Card UID: hex without separators, 4, 7 or 10 bytes (upper case on the wire).",
        examples=["04A1B2C3D4E5F6"],
    ),
]
# Every integer on the wire is bounded: a value the database cannot hold is a `bad_request`
# naming the field, never an overflow deep in a query.
Cents = Annotated[
    int,
    Field(ge=-BIGINT_MAX, le=BIGINT_MAX, description="An amount of money in integer cents."),
]
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
Count = Annotated[int, Field(ge=-BIGINT_MAX, le=BIGINT_MAX)]
Seconds = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
Timestamp = Annotated[
    str, Field(description="RFC 3339 UTC time.", examples=["2026-11-21T20:17:33Z"])
]


class WireModel(BaseModel):
    """Strict JSON: no unknown fields, no type coercion ("5" is not 5)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoFields(WireModel):
    """A request that carries nothing but its id."""
