"""Admin: members — search, create, contact and credit limit, cards, PIN, login link and
balance corrections."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import AdminDep, ClockDep, require_admin
from api.deps import DbDep
from api.fields import ADMIN_ONLY, PRINTABLE, Id, Page, PagingDep, Subject, one_line, refusals
from core import members, pins
from core.audit import Actor
from core.cards import normalize_uid
from core.formats import ADMIN_AMOUNT_MAX_CENTS, EMAIL_MAX, NAME_MAX, PIN_PATTERN, REASON_MAX
from core.paging import by_id

Name = Annotated[str, one_line(NAME_MAX)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=EMAIL_MAX,
        pattern=r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+$",
    ),
]
# 4, 7 or 10 bytes of hex, optionally separated by `:`, `-` or a space; stored normalized.
_BYTES = r"[:\- ]?[0-9A-Fa-f]{2}"
CardUid = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        pattern=rf"^[0-9A-Fa-f]{{2}}(?:{_BYTES}){{3}}(?:(?:{_BYTES}){{3}}(?:(?:{_BYTES}){{3}})?)?$",
    ),
    AfterValidator(normalize_uid),
]
UID_HELP = "Hex, 4, 7 or 10 bytes, optionally separated by `:`, `-` or spaces."
# What the members list is searched for: the list route's `q` and the search form of the pages.
SearchText = Annotated[str, StringConstraints(max_length=NAME_MAX, pattern=PRINTABLE)]


def _integral(value: object) -> object:
    """JSON Schema counts 5.0 as an integer; strict models refuse true and "5" as well."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


AdminCents = Annotated[
    int,
    Field(ge=-ADMIN_AMOUNT_MAX_CENTS, le=ADMIN_AMOUNT_MAX_CENTS),
    BeforeValidator(_integral),
]
LimitCents = Annotated[int, Field(ge=0, le=ADMIN_AMOUNT_MAX_CENTS), BeforeValidator(_integral)]
# Request bodies: unknown fields refused, no coercion (`true` is no amount, `"5"` no number).
STRICT_REQUEST = ConfigDict(extra="forbid", strict=True)


router = APIRouter(
    prefix="/api/v1/admin/members",
    tags=["admin: members"],
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ONLY,
)


class _WithoutInputRoute(APIRoute):
    """A route whose 422 answers never repeat what was sent: the body holds a PIN."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def scrubbed(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                errors = [
                    {key: value for key, value in line.items() if key != "input"}
                    for line in error.errors()
                ]
                raise RequestValidationError(errors) from None

        return scrubbed


_pin_router = APIRouter(route_class=_WithoutInputRoute)


class CardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    uid: str
    blocked: bool
    created_at: datetime


class MemberSummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    email: str | None
    balance_cents: int
    credit_limit_cents: int = Field(description="How far below zero the balance may go.")
    has_pin: bool = Field(description="A PIN makes the member a treasurer (cash payouts).")
    login_linked: bool


class MemberPage(Page[MemberSummaryOut]):
    """Members, newest first."""


class MemberOut(MemberSummaryOut):
    pin_failures: int
    pin_locked_until: datetime | None = Field(description="Set while wrong PINs lock it.")
    oidc_subject: str | None = Field(description="The login linked to this member, if any.")
    created_at: datetime
    cards: list[CardOut]


class NewMember(BaseModel):
    model_config = STRICT_REQUEST
    name: Name
    email: Email | None = None
    card_uid: CardUid | None = Field(default=None, description=UID_HELP)
    opening_balance_cents: LimitCents = Field(
        default=0, description="Booked as an `opening` ledger entry."
    )


class MemberChanges(BaseModel):
    """Only the fields sent change; `email: null` removes the address."""

    model_config = STRICT_REQUEST
    # Left out: unchanged (the route reads `model_fields_set`). None is only the default:
    # the schema does not offer null and the validator refuses it.
    name: Name | SkipJsonSchema[None] = None
    email: Email | None = None
    credit_limit_cents: LimitCents | SkipJsonSchema[None] = None

    @field_validator("name", "credit_limit_cents")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("leave it out to keep it; it cannot be null")
        return value


class NewCard(BaseModel):
    model_config = STRICT_REQUEST
    uid: CardUid = Field(description=UID_HELP)


class NewPin(BaseModel):
    model_config = STRICT_REQUEST
    pin: str = Field(
        pattern=PIN_PATTERN,
        repr=False,
        description="4 to 8 digits. Stored as a bcrypt hash, never shown again.",
        json_schema_extra={"format": "password"},
    )


class NewCorrection(BaseModel):
    model_config = STRICT_REQUEST
    amount_cents: AdminCents = Field(
        description="Positive credits, negative debits; not 0.",
        json_schema_extra={"not": {"const": 0}},
    )
    reason: Annotated[str, one_line(REASON_MAX)] = Field(
        description="Why: kept as the ledger entry's note."
    )

    @field_validator("amount_cents")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("a correction of 0 cents changes nothing")
        return value


class CorrectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    member_id: int
    amount_cents: int
    reason: str
    balance_cents: int = Field(description="The balance after the correction.")


class LoginLink(BaseModel):
    model_config = STRICT_REQUEST
    subject: Subject = Field(description="The login's OIDC subject (`sub`), printable ASCII.")


async def add_member(
    db: AsyncSession, new: NewMember, *, now: datetime, actor: Actor
) -> members.NewMember:
    """The member asked for, created (this route's and the admin pages' way)."""
    return await members.add_member(
        db,
        name=new.name,
        email=new.email,
        card_uid=new.card_uid,
        opening_balance_cents=new.opening_balance_cents,
        now=now,
        actor=actor,
    )


async def _detail(db: DbDep, clock: ClockDep, member_id: int) -> MemberOut:
    return MemberOut.model_validate(await members.detail(db, member_id, now=clock.now()))


@router.get("")
async def list_members(
    db: DbDep,
    paging: PagingDep,
    q: Annotated[
        SearchText | None,
        Query(description="Part of a name, e-mail address or card UID (case-insensitive)."),
    ] = None,
) -> MemberPage:
    """Members, newest first, optionally only those matching `q`; paged by `before_id`."""
    query = q.strip() if q else None
    page = await paging.fetch(partial(members.search, db, query=query), by_id)
    return MemberPage.model_validate(page)


@router.post("", status_code=201, responses=refusals(409))
async def create_member(
    new: NewMember, db: DbDep, clock: ClockDep, principal: AdminDep
) -> MemberOut:
    """Create a member, optionally with a card (409 if it is taken) and an opening balance."""
    created = await add_member(db, new, now=clock.now(), actor=principal.actor)
    return await _detail(db, clock, created.member_id)


@router.get("/{member_id}", responses=refusals(404))
async def get_member(member_id: Id, db: DbDep, clock: ClockDep) -> MemberOut:
    """One member: balance, credit limit, cards, PIN state and linked login."""
    return await _detail(db, clock, member_id)


@router.patch("/{member_id}", responses=refusals(404, 409))
async def update_member(
    member_id: Id, changes: MemberChanges, db: DbDep, clock: ClockDep, principal: AdminDep
) -> MemberOut:
    """Change name, e-mail or credit limit. A credit limit below the member's current debt
    is refused (409): the balance would already break it."""
    current = await members.detail(db, member_id, now=clock.now())
    sent = changes.model_fields_set
    if sent & {"name", "email"}:
        await members.set_contact(
            db,
            member_id,
            name=changes.name or current.name,
            email=changes.email if "email" in sent else current.email,
            actor=principal.actor,
            now=clock.now(),
        )
    if changes.credit_limit_cents is not None:
        await members.set_credit_limit(
            db, member_id, changes.credit_limit_cents, actor=principal.actor, now=clock.now()
        )
    return await _detail(db, clock, member_id)


@router.post("/{member_id}/cards", status_code=201, responses=refusals(404, 409))
async def add_card(
    member_id: Id, card: NewCard, db: DbDep, clock: ClockDep, principal: AdminDep
) -> CardOut:
    """Give the member a card; 409 if the UID belongs to anyone already."""
    added = await members.add_card(db, member_id, card.uid, actor=principal.actor, now=clock.now())
    return CardOut.model_validate(added)


@router.post("/{member_id}/cards/{card_id}/block", responses=refusals(404))
async def block_card(
    member_id: Id, card_id: Id, db: DbDep, clock: ClockDep, principal: AdminDep
) -> CardOut:
    """Block a lost card: it stops working everywhere, the account is untouched."""
    card = await members.set_card_blocked(
        db, member_id, card_id, blocked=True, actor=principal.actor, now=clock.now()
    )
    return CardOut.model_validate(card)


@router.post("/{member_id}/cards/{card_id}/unblock", responses=refusals(404))
async def unblock_card(
    member_id: Id, card_id: Id, db: DbDep, clock: ClockDep, principal: AdminDep
) -> CardOut:
    """Let a blocked card work again."""
    card = await members.set_card_blocked(
        db, member_id, card_id, blocked=False, actor=principal.actor, now=clock.now()
    )
    return CardOut.model_validate(card)


@_pin_router.put("/{member_id}/pin", status_code=204, responses=refusals(404))
async def set_pin(
    member_id: Id, new: NewPin, db: DbDep, clock: ClockDep, principal: AdminDep
) -> None:
    """Set the member's PIN, making them a treasurer; clears wrong-PIN counts and any lock.

    The PIN is never answered back, not even in a 422."""
    await pins.set_pin(db, member_id, new.pin, actor=principal.actor, now=clock.now())


@router.delete("/{member_id}/pin", status_code=204, responses=refusals(404))
async def clear_pin(member_id: Id, db: DbDep, clock: ClockDep, principal: AdminDep) -> None:
    """Remove the PIN (and any lock): the member is no longer a treasurer."""
    await pins.clear_pin(db, member_id, actor=principal.actor, now=clock.now())


@router.post("/{member_id}/corrections", status_code=201, responses=refusals(404, 409))
async def correct_balance(
    member_id: Id,
    correction: NewCorrection,
    db: DbDep,
    clock: ClockDep,
    principal: AdminDep,
) -> CorrectionOut:
    """Correct the balance: one `correction` ledger entry with the reason as its note and you
    as its actor. A debit below minus the credit limit is 409 `insufficient_funds`."""
    booked = await members.correct_balance(
        db,
        member_id,
        correction.amount_cents,
        reason=correction.reason,
        now=clock.now(),
        actor=principal.actor,
    )
    return CorrectionOut.model_validate(booked)


@router.put("/{member_id}/login", responses=refusals(404, 409))
async def link_login(
    member_id: Id, link: LoginLink, db: DbDep, clock: ClockDep, principal: AdminDep
) -> MemberOut:
    """Link a login to this member (replacing its previous one). If another member holds that
    login, 409 `subject_linked` names it in `member_id`: unlink it there first."""
    await members.link_login(db, member_id, link.subject, actor=principal.actor, now=clock.now())
    return await _detail(db, clock, member_id)


@router.delete("/{member_id}/login", status_code=204, responses=refusals(404))
async def unlink_login(member_id: Id, db: DbDep, clock: ClockDep, principal: AdminDep) -> None:
    """Unlink the member's login; that person can link a card again from a terminal."""
    await members.unlink_login(db, member_id, actor=principal.actor, now=clock.now())


router.include_router(_pin_router)
