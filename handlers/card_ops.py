"""`card/identify`."""

from __future__ import annotations

from broker.contract.cards import CardIdentifyAnswer, CardIdentifyRequest, TariffInfo
from core import cards, machines
from core.errors import NotAuthorized
from core.formats import DeviceKind
from handlers.answers import answer
from handlers.context import OpContext


async def card_identify(req: CardIdentifyRequest, ctx: OpContext) -> CardIdentifyAnswer:
    """Name, balance and PIN status of the card's holder; on a machine, their access and prices."""
    holder = await cards.identify(ctx.db, req.card)
    if ctx.device.kind is not DeviceKind.MACHINE:
        return answer(CardIdentifyAnswer, holder)
    try:
        tariff = await machines.tariff_for(
            ctx.db, device_id=ctx.device.id, member_id=holder.member_id
        )
    except NotAuthorized:
        return answer(CardIdentifyAnswer, holder, authorized=False)
    return answer(CardIdentifyAnswer, holder, authorized=True, tariff=answer(TariffInfo, tariff))
