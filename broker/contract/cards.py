"""`card/identify`: who holds this card."""

from __future__ import annotations

from pydantic import Field

from broker.contract.common import CardUid, Cents, RowId, WireModel
from core.formats import MAX_INTERVAL_MIN


class CardIdentifyRequest(WireModel):
    card: CardUid


class TariffInfo(WireModel):
    login_fee_cents: Cents
    price_per_minute_cents: Cents
    interval_min: int = Field(ge=1, le=MAX_INTERVAL_MIN)


class CardIdentifyAnswer(WireModel):
    member_id: RowId
    name: str
    balance_cents: Cents
    has_pin: bool
    authorized: bool | None = Field(
        default=None, description="Machines only: whether the member may start a session."
    )
    tariff: TariffInfo | None = Field(
        default=None, description="Machines only, when authorized: the member's prices."
    )
