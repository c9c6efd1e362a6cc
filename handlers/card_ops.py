"""`card/identify`."""

from __future__ import annotations

from broker.contract.cards import CardIdentifyAnswer, CardIdentifyRequest, TariffInfo
from core import cards, machines
from core.errors import NotAuthorized
from core.formats import DeviceKind
from handlers.context import OpContext


async def card_identify(req: CardIdentifyRequest, ctx: OpContext) -> CardIdentifyAnswer:
    """Name, balance and PIN status of the card's holder; on a machine, their access and prices."""
    holder = await cards.identify(ctx.db, req.card)
    answer = CardIdentifyAnswer(
        member_id=holder.member_id,
        name=holder.name,
        balance_cents=holder.balance_cents,
        has_pin=holder.has_pin,
    )
    if ctx.device.kind is not DeviceKind.MACHINE:
        return answer
    try:
        tariff = await machines.tariff_for(
            ctx.db, device_id=ctx.device.id, member_id=holder.member_id
        )
    except NotAuthorized:
        return answer.model_copy(update={"authorized": False})
    return answer.model_copy(
        update={
            "authorized": True,
            "tariff": TariffInfo(
                login_fee_cents=tariff.login_fee_cents,
                price_per_minute_cents=tariff.price_per_minute_cents,
                interval_min=tariff.interval_min,
            ),
        }
    )
