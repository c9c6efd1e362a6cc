"""`product/scan`, `checkout/purchase`, `card/register`, `card/link`."""

from __future__ import annotations

from broker.contract.shop import (
    CardLinkAnswer,
    CardLinkRequest,
    CardRegisterAnswer,
    CardRegisterRequest,
    CheckoutPurchaseAnswer,
    CheckoutPurchaseRequest,
    ProductAnswer,
    ProductScanRequest,
)
from core import checkout, link_tokens, products
from core.clock import rfc3339
from handlers.answers import answer
from handlers.context import OpContext, OpHandler


async def product_scan(req: ProductScanRequest, ctx: OpContext) -> ProductAnswer:
    """The product for sale under an EAN or alias."""
    return answer(ProductAnswer, await products.lookup(ctx.db, req.ean))


async def checkout_purchase(req: CheckoutPurchaseRequest, ctx: OpContext) -> CheckoutPurchaseAnswer:
    """Sell the basket to the card's member, all lines or none."""
    receipt = await checkout.purchase(
        ctx.db,
        card_uid=req.card,
        items=[checkout.BasketItem(item.ean, item.qty) for item in req.items],
        origin=ctx.origin,
    )
    return answer(CheckoutPurchaseAnswer, receipt)


async def card_register(req: CardRegisterRequest, ctx: OpContext) -> CardRegisterAnswer:
    """A new member holding this card."""
    created = await checkout.register_card(
        ctx.db, card_uid=req.card, name=req.name, now=ctx.now, actor=ctx.origin.who
    )
    return answer(CardRegisterAnswer, created)


async def card_link(req: CardLinkRequest, ctx: OpContext) -> CardLinkAnswer:
    """A single-use self-service URL for linking this card to a web login."""
    issued = await link_tokens.issue(
        ctx.db, card_uid=req.card, device_id=ctx.device.id, now=ctx.now
    )
    return CardLinkAnswer(
        url=link_tokens.link_url(ctx.settings.public_url, issued.token),
        expires_at=rfc3339(issued.expires_at),
        expires_s=int((issued.expires_at - ctx.now).total_seconds()),
    )


HANDLERS: dict[str, OpHandler] = {
    "product/scan": product_scan,
    "checkout/purchase": checkout_purchase,
    "card/register": card_register,
    "card/link": card_link,
}
