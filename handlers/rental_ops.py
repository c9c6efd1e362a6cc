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
from core.clock import rfc3339
from handlers.context import OpContext, OpHandler


async def rental_status(req: RentalStatusRequest, ctx: OpContext) -> RentalStatusAnswer:
    """Whether and since when the item is out (never who has it)."""
    item = await rentals.status(ctx.db, req.tid)
    return RentalStatusAnswer(
        tid=item.tid,
        name=item.name,
        description=item.description,
        out=item.out,
        since=None if item.since is None else rfc3339(item.since),
        rental_id=item.rental_id,
    )


async def rental_rent(req: RentalRentRequest, ctx: OpContext) -> RentalRentAnswer:
    """Lend the item to the card's member."""
    rented = await rentals.rent(
        ctx.db, device_id=ctx.device.id, card_uid=req.card, tid=req.tid, now=ctx.now
    )
    return RentalRentAnswer(
        rental_id=rented.rental_id, tid=rented.tid, name=rented.name, since=rfc3339(rented.since)
    )


async def rental_return(req: RentalReturnRequest, ctx: OpContext) -> RentalReturnAnswer:
    """Take the item back at this station, whichever station lent it."""
    returned = await rentals.return_item(ctx.db, device_id=ctx.device.id, tid=req.tid, now=ctx.now)
    return RentalReturnAnswer(
        rental_id=returned.rental_id,
        duration_s=returned.duration_s,
        tid=returned.tid,
        name=returned.name,
    )


HANDLERS: dict[str, OpHandler] = {
    "rental/status": rental_status,
    "rental/rent": rental_rent,
    "rental/return": rental_return,
}
