"""What a member sees of their own account: profile, ledger, sessions, rentals, machines, cards.

Every query is bounded by the member id the caller proved, so another member's rows are simply
not there: nothing here tells whether they exist. Unbounded lists come in pages, newest first,
keyed on the row id (`before_id`), which stays stable while new rows arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.billing import Tariff, TariffOverride, effective_tariff
from core.db import run
from core.errors import NotFound
from core.formats import DeviceKind
from core.link_tokens import token_hash
from core.members import CardInfo
from core.models import (
    Authorization,
    Card,
    CashBox,
    Device,
    LedgerEntry,
    LinkToken,
    MachineSession,
    MachineTariff,
    Member,
    Product,
    Rental,
    RentalItem,
)
from core.paging import PAGE_DEFAULT, Page, select_page


@dataclass(frozen=True)
class Profile:
    member_id: int
    name: str
    email: str | None
    balance_cents: int
    credit_limit_cents: int
    has_pin: bool


async def profile(db: AsyncSession, member_id: int) -> Profile:
    """The member's name, contact, balance and credit limit."""
    row = (
        await run(
            db,
            select(
                Member.name,
                Member.email,
                Member.balance_cents,
                Member.credit_limit_cents,
                Member.pin_hash.is_not(None).label("has_pin"),
            ).where(Member.id == member_id),
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no member {member_id}")
    return Profile(member_id, **row._mapping)


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
    db: AsyncSession, member_id: int, *, before_id: int | None = None, limit: int = PAGE_DEFAULT
) -> Page[LedgerLine]:
    """The member's ledger entries, newest first.

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
    page = await select_page(db, statement, LedgerEntry.id, before_id=before_id, limit=limit)
    return page.map(lambda row: LedgerLine(**row._mapping))


@dataclass(frozen=True)
class SessionLine:
    """A machine session with the tariff it started with.

    `charged_cents`: for an ended session what it cost in the end (login fee and minutes used);
    for an open one what has been charged so far (login fee and prepaid intervals), of which
    the unused part comes back at its end.
    """

    id: int
    machine_slug: str
    machine_name: str
    started_at: datetime
    ended_at: datetime | None
    paid_until: datetime
    end_reason: str | None
    duration_s: int | None
    charged_cents: int
    tariff: Tariff

    @property
    def open(self) -> bool:
        return self.ended_at is None


def _session_line(row: Row[Any]) -> SessionLine:
    charged = row.total_cents if row.ended_at is not None else None
    return SessionLine(
        id=row.id,
        machine_slug=row.slug,
        machine_name=row.name,
        started_at=row.started_at,
        ended_at=row.ended_at,
        paid_until=row.paid_until,
        end_reason=row.end_reason,
        duration_s=row.duration_s,
        charged_cents=row.login_fee_cents + row.prepaid_cents if charged is None else charged,
        tariff=Tariff(row.login_fee_cents, row.price_per_minute_cents, row.interval_min),
    )


async def sessions(
    db: AsyncSession, member_id: int, *, before_id: int | None = None, limit: int = PAGE_DEFAULT
) -> Page[SessionLine]:
    """The member's machine sessions, newest first, open ones included."""
    s = MachineSession
    statement = (
        select(
            s.id,
            Device.slug,
            Device.name,
            s.started_at,
            s.ended_at,
            s.paid_until,
            s.end_reason,
            s.duration_s,
            s.total_cents,
            s.prepaid_cents,
            s.login_fee_cents,
            s.price_per_minute_cents,
            s.interval_min,
        )
        .join(Device, Device.id == s.device_id)
        .where(s.member_id == member_id)
    )
    page = await select_page(db, statement, s.id, before_id=before_id, limit=limit)
    return page.map(_session_line)


@dataclass(frozen=True)
class RentalLine:
    id: int
    item_name: str
    tid: str
    rented_at: datetime
    returned_at: datetime | None


async def rentals(
    db: AsyncSession, member_id: int, *, before_id: int | None = None, limit: int = PAGE_DEFAULT
) -> Page[RentalLine]:
    """The items the member rented, newest first; those still out have no `returned_at`."""
    statement = (
        select(
            Rental.id,
            RentalItem.name.label("item_name"),
            RentalItem.tid,
            Rental.rented_at,
            Rental.returned_at,
        )
        .join(RentalItem, RentalItem.id == Rental.item_id)
        .where(Rental.member_id == member_id)
    )
    page = await select_page(db, statement, Rental.id, before_id=before_id, limit=limit)
    return page.map(lambda row: RentalLine(**row._mapping))


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


def _machine_access(row: Row[Any]) -> MachineAccess:
    override = TariffOverride(row.own_login_fee, row.own_price_per_minute, row.own_interval)
    own = override != TariffOverride()
    tariff = None
    if row.interval_min is not None:
        machine = Tariff(row.login_fee_cents, row.price_per_minute_cents, row.interval_min)
        tariff = effective_tariff(machine, override)
    return MachineAccess(row.slug, row.name, row.enabled, tariff, own)


async def machines(db: AsyncSession, member_id: int) -> list[MachineAccess]:
    """The machines the member is authorized for, by name, each with the member's tariff."""
    rows = await run(
        db,
        select(
            Device.slug,
            Device.name,
            Device.enabled,
            MachineTariff.login_fee_cents,
            MachineTariff.price_per_minute_cents,
            MachineTariff.interval_min,
            Authorization.login_fee_cents.label("own_login_fee"),
            Authorization.price_per_minute_cents.label("own_price_per_minute"),
            Authorization.interval_min.label("own_interval"),
        )
        .join(Device, Device.id == Authorization.device_id)
        .outerjoin(MachineTariff, MachineTariff.device_id == Device.id)
        .where(
            Authorization.member_id == member_id,
            Device.kind == DeviceKind.MACHINE.value,
        )
        .order_by(Device.name, Device.slug),
    )
    return [_machine_access(row) for row in rows.all()]


async def cards(db: AsyncSession, member_id: int) -> list[CardInfo]:
    """The member's cards, oldest first, blocked ones included."""
    rows = await run(
        db,
        select(Card.id, Card.uid, Card.blocked, Card.created_at)
        .where(Card.member_id == member_id)
        .order_by(Card.id),
    )
    return [CardInfo(**row._mapping) for row in rows.all()]


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
