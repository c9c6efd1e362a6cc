"""What a checkout terminal does for members: buy a basket, register a new card.

A basket is all lines or none, in the caller's one transaction: every EAN is resolved before
anything changes, then stock is taken product by product in ascending id order (so two baskets
lock rows in the same order and cannot deadlock on PostgreSQL), then the member pays with one
ledger entry per line. Any refusal raises, and the caller's rollback undoes the lines before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core import cards, ledger, members, products, stock
from core.audit import Actor
from core.errors import CardExists, Conflict, InsufficientFunds, OutOfStock
from core.formats import MAX_LINES, MAX_QTY, REGISTER_NAME_MAX
from core.ledger import EntryKind, Posting
from core.members import NewMember
from core.models import Card
from core.origin import Origin


@dataclass(frozen=True)
class BasketItem:
    ean: str
    qty: int


@dataclass(frozen=True)
class Line:
    """One product of a paid basket; `ean` is the product's primary EAN."""

    product_id: int
    ean: str
    name: str
    qty: int
    price_cents: int

    @property
    def total_cents(self) -> int:
        return self.qty * self.price_cents


@dataclass(frozen=True)
class Receipt:
    """A paid basket: its lines, what they cost together and the member's balance after."""

    lines: tuple[Line, ...]
    total_cents: int
    balance_cents: int


def _summed(items: Sequence[BasketItem]) -> dict[str, int]:
    """Quantity per EAN, in the order the EANs first appear."""
    if not 1 <= len(items) <= MAX_LINES:
        raise ValueError(f"a basket has 1 to {MAX_LINES} lines")
    wanted: dict[str, int] = {}
    for item in items:
        if not 1 <= item.qty <= MAX_QTY:
            raise ValueError(f"a quantity is 1 to {MAX_QTY}")
        wanted[item.ean] = wanted.get(item.ean, 0) + item.qty
    return wanted


async def _lines(db: AsyncSession, wanted: dict[str, int]) -> tuple[list[Line], dict[int, str]]:
    """One line per product (an alias and its primary EAN are one product), in basket order,
    and the EAN the basket named each product by first (errors name what the terminal sent)."""
    found = await products.find_many(db, list(wanted))
    qty: dict[int, int] = {}
    named_as: dict[int, str] = {}
    known: dict[int, products.ProductInfo] = {}
    for ean, count in wanted.items():
        product = products.for_sale(found.get(ean), ean)
        known[product.product_id] = product
        named_as.setdefault(product.product_id, ean)
        qty[product.product_id] = qty.get(product.product_id, 0) + count
    lines = [
        Line(pid, known[pid].ean, known[pid].name, count, known[pid].price_cents)
        for pid, count in qty.items()
    ]
    return lines, named_as


async def purchase(
    db: AsyncSession,
    *,
    card_uid: str,
    items: Sequence[BasketItem],
    origin: Origin,
) -> Receipt:
    """Sell a basket to the card's member: stock and money move for every line, or for none."""
    wanted = _summed(items)
    holder = await cards.identify(db, card_uid)
    lines, named_as = await _lines(db, wanted)
    changes = []
    for line in sorted(lines, key=lambda line: line.product_id):
        after = await stock.take(db, line.product_id, line.qty)
        if after is None:
            left = await stock.current(db, line.product_id)
            raise OutOfStock(
                f"only {left} of {line.name} in stock",
                ean=named_as[line.product_id],
                stock=left,
            )
        changes.append(stock.Change(line.product_id, line.ean, -line.qty, after))
    total = sum(line.total_cents for line in lines)
    balance = await ledger.post(
        db,
        holder.member_id,
        [
            Posting(
                EntryKind.PURCHASE,
                -line.total_cents,
                note=f"{line.qty} x {line.name}",
                product_id=line.product_id,
            )
            for line in lines
        ],
        origin,
        within_credit=True,
    )
    if balance is None:
        raise InsufficientFunds(
            f"the basket costs {total} cents",
            needed_cents=total,
            balance_cents=(await ledger.balance_of(db, holder.member_id)).balance_cents,
        )
    await stock.record(db, stock.MovementKind.PURCHASE, changes, origin, member_id=holder.member_id)
    return Receipt(tuple(lines), total, balance.balance_cents)


def default_member_name(card_uid: str) -> str:
    """What a member registered at a terminal without a name is called."""
    return f"Member {card_uid[-4:]}"


async def register_card(
    db: AsyncSession, *, card_uid: str, name: str | None, now: datetime, actor: Actor
) -> NewMember:
    """A new member holding this card, with a balance of 0; CardExists if it is anyone's.
    `actor` is the terminal it was registered at."""
    if name is not None:
        name = name.strip()
        if not 1 <= len(name) <= REGISTER_NAME_MAX:
            raise ValueError(f"a name is 1 to {REGISTER_NAME_MAX} characters")
    if await db.scalar(select(Card.id).where(Card.uid == card_uid)) is not None:
        raise CardExists("this card is already registered")
    try:
        async with db.begin_nested():
            return await members.add_member(
                db,
                name=name or default_member_name(card_uid),
                card_uid=card_uid,
                now=now,
                actor=actor,
            )
    except (Conflict, IntegrityError):
        # Another terminal registered the same card a moment before.
        raise CardExists("this card is already registered") from None
