"""`card/identify`: who holds this card."""

from __future__ import annotations

from broker.contract.common import CardUid, Cents, WireModel


class CardIdentifyRequest(WireModel):
    card: CardUid


class CardIdentifyAnswer(WireModel):
    member_id: int
    name: str
    balance_cents: Cents
    has_pin: bool
