"""`rental/status`, `rental/rent`, `rental/return`."""

from __future__ import annotations

from broker.contract.rentals import (
    RentalRentAnswer,
    RentalRentRequest,
    RentalReturnAnswer,
    RentalReturnRequest,
    RentalStatusAnswer,
    RentalStatusRequest,
)
from core import rentals
from handlers.answers import answer
from handlers.context import OpContext, OpHandler


async def rental_status(req: RentalStatusRequest, ctx: OpContext) -> RentalStatusAnswer:
    """Whether and since when the item is out (never who has it)."""
    return answer(RentalStatusAnswer, await rentals.status(ctx.db, req.tid))


async def rental_rent(req: RentalRentRequest, ctx: OpContext) -> RentalRentAnswer:
    """Lend the item to the card's member."""
    rented = await rentals.rent(
        ctx.db, device_id=ctx.device.id, card_uid=req.card, tid=req.tid, now=ctx.now
    )
    return answer(RentalRentAnswer, rented)


async def rental_return(req: RentalReturnRequest, ctx: OpContext) -> RentalReturnAnswer:
    """Take the item back at this station, whichever station lent it."""
    returned = await rentals.return_item(ctx.db, device_id=ctx.device.id, tid=req.tid, now=ctx.now)
    return answer(RentalReturnAnswer, returned)


HANDLERS: dict[str, OpHandler] = {
    "rental/status": rental_status,
    "rental/rent": rental_rent,
    "rental/return": rental_return,
}
