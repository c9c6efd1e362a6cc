"""Admin pages: one member's page and its forms for the account — contact, credit limit and
balance correction (cards, PIN and login: `api.web.admin.member_access`). Each form posts to
an address of its own; a change is saved and shown after a redirect, a refusal shows the page
again with the reason beside the field and nothing changed.

The changes go through the same core calls and request models as `api.admin.members`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from api.admin.members import (
    STRICT_REQUEST,
    Email,
    LimitCents,
    Name,
    NewCorrection,
)
from api.auth import ClockDep
from api.deps import DbDep
from api.web.forms import FieldErrors, validated
from api.web.i18n import Formats
from api.web.render import gettext_for, notify, render
from api.web.viewer import AdminViewerDep, PageNotFound, Viewer
from core import members, self_service
from core.clock import Clock
from core.errors import DomainError, NotFound
from core.formats import BIGINT_MAX

M = TypeVar("M", bound=BaseModel)
MEMBERS = "/admin/members"
ONE_MEMBER = MEMBERS + "/{member_id}"
LEDGER_LINES = 20
router = APIRouter(include_in_schema=False)


def member_url(member_id: int) -> str:
    return f"{MEMBERS}/{member_id}"


def page_id(text: str | None) -> int | None:
    """A row id from an address, or None when it cannot be one."""
    if text is None or not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= BIGINT_MAX:
        return None
    return int(text)


def _before_id(before_id: Annotated[str | None, Query()] = None) -> int | None:
    return page_id(before_id)


BeforeIdDep = Annotated[int | None, Depends(_before_id)]


class ContactForm(BaseModel):
    """Name and e-mail address, as the form sends them: both at once (empty: no address)."""

    model_config = STRICT_REQUEST
    name: Name
    email: Email | None = None


class CreditLimitForm(BaseModel):
    model_config = STRICT_REQUEST
    credit_limit_cents: LimitCents


@dataclass
class Outcome:
    """What the core calls inside `refusable` came to: None, or why they were refused."""

    refusal: DomainError | None = None


@asynccontextmanager
async def refusable(db: AsyncSession, viewer: Viewer) -> AsyncIterator[Outcome]:
    """Core calls that may refuse: on a refusal their writes are undone and it is kept in the
    outcome; a member (or card) that is not there is the 404 page."""
    outcome = Outcome()
    try:
        async with db.begin_nested():
            yield outcome
    except NotFound:
        raise PageNotFound(viewer) from None
    except DomainError as error:
        outcome.refusal = error


def explained(error: DomainError, formats: Formats, texts: Mapping[str, str]) -> str:
    """A refusal in the page's language: the text for its code, naming its amounts as money."""
    values: dict[str, object] = {
        name: formats.money(value) if name.endswith("_cents") and isinstance(value, int) else value
        for name, value in error.fields.items()
    }
    _ = gettext_for(formats.language)
    text: str = texts.get(error.code) or _("This was refused.")
    return text % values


def typed(form: FormData, *names: str) -> dict[str, str]:
    """What was typed into these fields, to show it again beside the errors."""
    return {name: str(form.get(name, "")) for name in names}


@dataclass(frozen=True)
class Refused:
    """A form the page shows again: the errors by field, what was typed, the status."""

    errors: FieldErrors
    status: int
    values: Mapping[str, str] = field(default_factory=dict)
    owner_url: str | None = None
    """The page of the member who has the card or login asked for."""


@dataclass(frozen=True)
class MemberForms:
    """An admin at one member's page: showing it, and answering its forms."""

    request: Request
    viewer: Viewer
    db: AsyncSession
    clock: Clock
    member_id: int

    def _(self, text: str) -> str:
        return str(gettext_for(self.viewer.language)(text))

    async def show(
        self, *, before_id: int | None = None, refused: Refused | None = None
    ) -> Response:
        """The member's page; after a refused form, with its errors and what was typed."""
        try:
            member = await members.detail(self.db, self.member_id, now=self.clock.now())
        except NotFound:
            raise PageNotFound(self.viewer) from None
        ledger = await self_service.ledger(
            self.db, self.member_id, before_id=before_id, limit=LEDGER_LINES
        )
        shown = refused or Refused({}, status=200)
        context = {
            "admin_section": MEMBERS,
            "member": member,
            "ledger": ledger,
            "errors": shown.errors,
            "values": shown.values,
            "owner_url": shown.owner_url,
        }
        return render(
            self.request, self.viewer, "admin/members/detail.html", context, status=shown.status
        )

    async def again(self, refused: Refused) -> Response:
        return await self.show(refused=refused)

    async def read(
        self, model: type[M], *names: str, money: tuple[str, ...] = ()
    ) -> tuple[M | None, Refused]:
        """The form as `model` (None if it is not right), and the form to show again: with
        its errors by field (422) and what was typed into the fields `names`."""
        form = await self.request.form()
        checked, errors = validated(model, form, self.viewer.formats, money=money)
        return checked, Refused(errors, 422, typed(form, *names))

    def refused_by(
        self,
        refusal: DomainError,
        form: Refused,
        name: str,
        texts: Mapping[str, str],
        owner_url: str | None = None,
    ) -> Refused:
        """The form again with core's refusal explained beside the field `name`."""
        errors = {name: explained(refusal, self.viewer.formats, texts)}
        return Refused(errors, refusal.status, form.values, owner_url)

    def saved(self, text: str) -> Response:
        """After a change: back to the member's page, which says what was done."""
        notify(self.request, text)
        return RedirectResponse(member_url(self.member_id), status_code=303)


async def _member_forms(
    request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep, member_id: str
) -> MemberForms:
    found = page_id(member_id)
    if found is None:
        raise PageNotFound(viewer)
    return MemberForms(request, viewer, db, clock, found)


MemberFormsDep = Annotated[MemberForms, Depends(_member_forms)]


@router.get(ONE_MEMBER)
async def member_page(page: MemberFormsDep, before_id: BeforeIdDep) -> Response:
    """One member: account, contact, credit limit, cards, PIN, login and recent ledger."""
    return await page.show(before_id=before_id)


@router.post(ONE_MEMBER + "/contact")
async def change_contact(page: MemberFormsDep) -> Response:
    contact, form = await page.read(ContactForm, "name", "email")
    if contact is None:
        return await page.again(form)
    async with refusable(page.db, page.viewer):
        await members.set_contact(
            page.db,
            page.member_id,
            name=contact.name,
            email=contact.email,
            actor=page.viewer.actor,
            now=page.clock.now(),
        )
    return page.saved(page._("Name and e-mail address saved."))


@router.post(ONE_MEMBER + "/credit-limit")
async def change_credit_limit(page: MemberFormsDep) -> Response:
    limit, form = await page.read(
        CreditLimitForm, "credit_limit_cents", money=("credit_limit_cents",)
    )
    if limit is None:
        return await page.again(form)
    async with refusable(page.db, page.viewer) as outcome:
        await members.set_credit_limit(
            page.db,
            page.member_id,
            limit.credit_limit_cents,
            actor=page.viewer.actor,
            now=page.clock.now(),
        )
    if outcome.refusal is not None:
        why = {"conflict": page._("The balance (%(balance_cents)s) is already below this limit.")}
        return await page.again(page.refused_by(outcome.refusal, form, "credit_limit_cents", why))
    text = page._("Credit limit set to %(limit)s.")
    return page.saved(text % {"limit": page.viewer.formats.money(limit.credit_limit_cents)})


@router.post(ONE_MEMBER + "/corrections")
async def correct_balance(page: MemberFormsDep) -> Response:
    correction, form = await page.read(
        NewCorrection, "amount_cents", "reason", money=("amount_cents",)
    )
    if correction is None:
        return await page.again(form)
    async with refusable(page.db, page.viewer) as outcome:
        booked = await members.correct_balance(
            page.db,
            page.member_id,
            correction.amount_cents,
            reason=correction.reason,
            now=page.clock.now(),
            actor=page.viewer.actor,
        )
    if outcome.refusal is not None:
        why = {
            "insufficient_funds": page._(
                "This would take the balance below the credit limit: the balance is "
                "%(balance_cents)s, the credit limit %(credit_limit_cents)s."
            )
        }
        return await page.again(page.refused_by(outcome.refusal, form, "amount_cents", why))
    money = page.viewer.formats.money
    text = page._("Balance corrected by %(amount)s. The new balance is %(balance)s.")
    return page.saved(
        text % {"amount": money(booked.amount_cents), "balance": money(booked.balance_cents)}
    )
