"""`card/identify`."""

from __future__ import annotations

from broker.contract.cards import CardIdentifyAnswer, CardIdentifyRequest
from core import cards
from handlers.context import OpContext


async def card_identify(req: CardIdentifyRequest, ctx: OpContext) -> CardIdentifyAnswer:
    """Name, balance and PIN status of the card's holder."""
    holder = await cards.identify(ctx.db, req.card)
    return CardIdentifyAnswer(
        member_id=holder.member_id,
        name=holder.name,
        balance_cents=holder.balance_cents,
        has_pin=holder.has_pin,
    )
