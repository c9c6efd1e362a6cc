"""What a member sees of their own account besides the read models other modules list.

A member's profile, cards, sessions and rentals are the read models of `core.members`,
`core.sessions` and `core.rentals`, asked for with the member's id; this module holds the rest:
their ledger, the machines they may use at their prices, and whether a card-link token works.
Every query is bounded by the member id the caller proved, so another member's rows are simply
not there: nothing here tells whether they exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.billing import Tariff, TariffOverride
from core.db import run
from core.formats import DeviceKind
from core.ledger import EntryKind
from core.link_tokens import token_hash
from core.machine_prices import (
    OWN_PRICE_COLUMNS,
    TARIFF_COLUMNS,
    member_tariff_in,
    own_prices_in,
)
from core.models import (
    Authorization,
    CashBox,
    Device,
    LedgerEntry,
    LinkToken,
    MachineTariff,
    Member,
    Product,
)
from core.paging import PAGE_DEFAULT, Page, select_page


@dataclass(frozen=True)
class LedgerLine:
    """One change of the member's balance and what it concerns (each where set)."""

    id: int
    kind: str
    amount_cents: int
    balance_after_cents: int
    created_at: datetime
    note: str | None
    device_slug: str | None
    product_name: str | None
    session_id: int | None
    cash_box_name: str | None
    counterparty_name: str | None


async def ledger(
    db: AsyncSession,
    member_id: int,
    *,
    before_id: int | None = None,
    limit: int = PAGE_DEFAULT,
    kind: EntryKind | None = None,
) -> Page[LedgerLine]:
    """The member's ledger entries, newest first; only those of `kind` when given.

    Of a counterparty (the other side of a transfer) only the name is shown; who booked an
    entry (`actor`) and the device's request id stay with the admins.
    """
    counterparty = aliased(Member)
    statement = (
        select(
            LedgerEntry.id,
            LedgerEntry.kind,
            LedgerEntry.amount_cents,
            LedgerEntry.balance_after_cents,
            LedgerEntry.created_at,
            LedgerEntry.note,
            Device.slug.label("device_slug"),
            Product.name.label("product_name"),
            LedgerEntry.session_id,
            CashBox.name.label("cash_box_name"),
            counterparty.name.label("counterparty_name"),
        )
        .outerjoin(Device, Device.id == LedgerEntry.device_id)
        .outerjoin(Product, Product.id == LedgerEntry.product_id)
        .outerjoin(CashBox, CashBox.id == LedgerEntry.box_id)
        .outerjoin(counterparty, counterparty.id == LedgerEntry.counterparty_id)
        .where(LedgerEntry.member_id == member_id)
    )
    if kind is not None:
        statement = statement.where(LedgerEntry.kind == kind.value)
    page = await select_page(db, statement, LedgerEntry.id, before_id=before_id, limit=limit)
    return page.map(lambda row: LedgerLine(**row._mapping))


@dataclass(frozen=True)
class MachineAccess:
    """A machine the member may use, at the prices that apply to them.

    `tariff` is None while the machine has no tariff (it cannot be started then); `own_prices`
    says whether the authorization overrides any of the machine's values for this member.
    """

    slug: str
    name: str
    enabled: bool
    tariff: Tariff | None
    own_prices: bool


async def machines(db: AsyncSession, member_id: int) -> list[MachineAccess]:
    """The machines the member is authorized for, by name, each with the member's tariff."""
    rows = await run(
        db,
        select(Device.slug, Device.name, Device.enabled, *TARIFF_COLUMNS, *OWN_PRICE_COLUMNS)
        .join(Device, Device.id == Authorization.device_id)
        .outerjoin(MachineTariff, MachineTariff.device_id == Device.id)
        .where(
            Authorization.member_id == member_id,
            Device.kind == DeviceKind.MACHINE.value,
        )
        .order_by(Device.name, Device.slug),
    )
    return [
        MachineAccess(
            slug=row.slug,
            name=row.name,
            enabled=row.enabled,
            tariff=member_tariff_in(row),
            own_prices=own_prices_in(row) != TariffOverride(),
        )
        for row in rows.all()
    ]


async def link_token_usable(db: AsyncSession, token: str, *, now: datetime) -> bool:
    """Whether a card-link token exists, is unused and unexpired; reads, never redeems.

    The link page asks this before offering to link, so that a dead link is said at once;
    `core.link_tokens.redeem` still decides (and says why) when the member confirms.
    """
    found = await run(
        db,
        select(LinkToken.id).where(
            LinkToken.token_hash == token_hash(token),
            LinkToken.used_at.is_(None),
            LinkToken.expires_at > now,
        ),
    )
    return found.one_or_none() is not None
