"""Self-service: a member's own profile, ledger, sessions, rentals, machines and cards.

Every route needs a login linked to a member (401 without a login, 403 while the login is
linked to no member, see `/link/{token}`) and shows only that member's data: an id belonging
to another member is answered 404, exactly as an id that does not exist.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ClockDep, MemberDep, PrincipalDep
from api.deps import DbDep, SettingsDep
from api.fields import Id, Page, PagingDep, refusals
from core import members, self_service
from core.audit import Actor
from core.ledger import EntryKind
from core.members import CardInfo
from core.rentals import history as rental_history
from core.self_service import LedgerLine
from core.sessions import records as session_records

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/me", tags=["self-service"])


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MyProfile(Out):
    id: int
    name: str
    email: str | None
    balance_cents: int = Field(description="Your balance in cents of `currency`.")
    credit_limit_cents: int = Field(description="How far below zero your balance may go.")
    has_pin: bool = Field(description="Whether a PIN guards your cards at the cash machine.")
    currency: str


class MyTariff(Out):
    login_fee_cents: int
    price_per_minute_cents: int
    interval_min: int
    start_cents: int


class MySession(Out):
    id: int = Field(validation_alias="session_id")
    machine_slug: str = Field(validation_alias="device_slug")
    machine_name: str
    open: bool = Field(validation_alias="is_open")
    started_at: datetime
    ended_at: datetime | None
    paid_until: datetime
    end_reason: str | None
    duration_s: int | None
    charged_cents: int
    tariff: MyTariff


class MyRental(Out):
    id: int = Field(validation_alias="rental_id")
    item_name: str
    tid: str
    rented_at: datetime
    returned_at: datetime | None


class MyLedgerPage(Page[LedgerLine]):
    """Ledger entries, newest first; `next_before_id` as `before_id` gives the next page."""


class MySessionPage(Page[MySession]):
    """Sessions, newest first; `next_before_id` as `before_id` gives the next page."""


class MyRentalPage(Page[MyRental]):
    """Rentals, newest first; `next_before_id` as `before_id` gives the next page."""


class MyMachine(Out):
    slug: str
    name: str
    enabled: bool
    tariff: MyTariff | None
    own_prices: bool


class MyCard(Out):
    id: int
    uid: str
    blocked: bool
    created_at: datetime


@router.get("")
async def me(member_id: MemberDep, db: DbDep, settings: SettingsDep) -> MyProfile:
    """Your name, e-mail, balance and credit limit (how far below zero you may go), in cents."""
    found = await members.summary(db, member_id)
    return MyProfile.model_validate(asdict(found) | {"currency": settings.currency})


@router.get("/ledger")
async def ledger(
    member_id: MemberDep,
    db: DbDep,
    paging: PagingDep,
    kind: Annotated[EntryKind | None, Query(description="Only entries of this kind.")] = None,
) -> MyLedgerPage:
    """Every change of your balance, newest first: what it was (`kind`), the amount, the
    balance after it, and what it concerns (machine or terminal, product, session, cash box,
    the other member of a transfer) where that applies."""
    page = await self_service.ledger(
        db, member_id, before_id=paging.before_id, limit=paging.limit, kind=kind
    )
    return MyLedgerPage.model_validate(page)


@router.get("/sessions")
async def sessions(member_id: MemberDep, db: DbDep, paging: PagingDep) -> MySessionPage:
    """Your machine sessions, newest first, with the tariff each started with.

    `charged_cents` is the final cost of an ended session; of an open one, what has been
    charged so far (login fee and prepaid time, whose unused part is refunded at the end).
    """
    page = await paging.fetch(
        partial(session_records, db, member_id=member_id), lambda record: record.session_id
    )
    return MySessionPage.model_validate(page)


@router.get("/rentals")
async def rentals(member_id: MemberDep, db: DbDep, paging: PagingDep) -> MyRentalPage:
    """The items you rented, newest first; those still out have `returned_at` null."""
    page = await paging.fetch(
        partial(rental_history, db, member_id=member_id), lambda rental: rental.rental_id
    )
    return MyRentalPage.model_validate(page)


@router.get("/machines")
async def machines(member_id: MemberDep, db: DbDep) -> list[MyMachine]:
    """The machines you may use, each at the prices that apply to you (`own_prices`: yours
    differ from the machine's). `start_cents` is what a start needs on your balance: the
    login fee and the first interval, paid in advance. `tariff` is null while the machine has
    no prices yet; it cannot be started then."""
    return [MyMachine.model_validate(m) for m in await self_service.machines(db, member_id)]


@router.get("/cards")
async def list_cards(member_id: MemberDep, db: DbDep) -> list[MyCard]:
    """Your cards, blocked ones included."""
    return [MyCard.model_validate(card) for card in await members.cards(db, member_id)]


@router.post("/cards/{card_id}/block", responses=refusals({404: "No card of yours."}))
async def block_card(
    member_id: MemberDep, principal: PrincipalDep, db: DbDep, clock: ClockDep, card_id: Id
) -> MyCard:
    """Block a lost card of yours: it stops working on every terminal at once; your balance
    and your other cards stay as they are. Blocking again changes nothing. Only an admin can
    unblock a card."""
    blocked = await block_own_card(db, member_id, card_id, actor=principal.actor, now=clock.now())
    return MyCard.model_validate(blocked)


async def block_own_card(
    db: AsyncSession, member_id: int, card_id: int, *, actor: Actor, now: datetime
) -> CardInfo:
    """A member blocks a card of theirs (this route and the cards page); NotFound if the
    card is not theirs."""
    card = await members.set_card_blocked(
        db, member_id, card_id, blocked=True, actor=actor, now=now
    )
    log.info("card blocked by its member", extra={"member_id": member_id, "card_id": card_id})
    return card
