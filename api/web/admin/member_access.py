"""Admin pages: how a member is known — their cards (add, block, unblock), their PIN (set,
remove) and the login linked to them — as forms on the member's page (`member_page`).

The same core calls and request models as `api.admin.members`; a PIN is never shown back.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.members import LoginLink, NewCard, NewPin
from api.web.admin.member_page import (
    ONE_MEMBER,
    MemberForms,
    MemberFormsDep,
    Refused,
    explained,
    member_url,
    page_id,
    refusable,
)
from api.web.i18n import Formats
from api.web.render import gettext_for
from api.web.viewer import PageNotFound
from core import cards, logins, members, pins
from core.errors import DomainError, UnknownCard

router = APIRouter(include_in_schema=False)


async def card_owner_url(db: AsyncSession, uid: str) -> str | None:
    """The page of the member who has the card already."""
    try:
        return member_url(await cards.member_of(db, uid))
    except UnknownCard:
        return None


@router.post(ONE_MEMBER + "/cards")
async def add_card(page: MemberFormsDep) -> Response:
    card, form = await page.read(NewCard, "uid")
    if card is None:
        return await page.again(form)
    async with refusable(page.db, page.viewer) as outcome:
        await members.add_card(
            page.db, page.member_id, card.uid, actor=page.viewer.actor, now=page.clock.now()
        )
    if outcome.refusal is not None:
        taken = await card_taken(page.db, page.viewer.formats, outcome.refusal, card.uid, "uid")
        return await page.again(replace(taken, values=form.values))
    return page.saved(page._("Card %(uid)s added.") % {"uid": card.uid})


async def card_taken(
    db: AsyncSession, formats: Formats, refusal: DomainError, uid: str, name: str
) -> Refused:
    """A card UID refused as another member's (beside the field `name`), with a link to them."""
    _ = gettext_for(formats.language)
    why = {"conflict": _("This card belongs to a member already.")}
    errors = {name: explained(refusal, formats, why)}
    return Refused(errors, refusal.status, owner_url=await card_owner_url(db, uid))


async def _block(page: MemberForms, card_id: str, *, blocked: bool) -> None:
    found = page_id(card_id)
    if found is None:
        raise PageNotFound(page.viewer)
    async with refusable(page.db, page.viewer):
        await members.set_card_blocked(
            page.db,
            page.member_id,
            found,
            blocked=blocked,
            actor=page.viewer.actor,
            now=page.clock.now(),
        )


@router.post(ONE_MEMBER + "/cards/{card_id}/block")
async def block_card(page: MemberFormsDep, card_id: str) -> Response:
    await _block(page, card_id, blocked=True)
    return page.saved(page._("Card blocked: it works nowhere until it is unblocked."))


@router.post(ONE_MEMBER + "/cards/{card_id}/unblock")
async def unblock_card(page: MemberFormsDep, card_id: str) -> Response:
    await _block(page, card_id, blocked=False)
    return page.saved(page._("Card unblocked: it works again."))


@router.post(ONE_MEMBER + "/pin")
async def set_pin(page: MemberFormsDep) -> Response:
    """Set the PIN. It is never shown again, not even on a refusal: the field stays empty."""
    new, form = await page.read(NewPin)
    if new is None:
        return await page.again(replace(form, errors={"pin": page._("A PIN is 4 to 8 digits.")}))
    async with refusable(page.db, page.viewer):
        await pins.set_pin(
            page.db, page.member_id, new.pin, actor=page.viewer.actor, now=page.clock.now()
        )
    return page.saved(page._("PIN set: the member is a treasurer now."))


@router.post(ONE_MEMBER + "/pin/remove")
async def remove_pin(page: MemberFormsDep) -> Response:
    async with refusable(page.db, page.viewer):
        await pins.clear_pin(page.db, page.member_id, actor=page.viewer.actor, now=page.clock.now())
    return page.saved(page._("PIN removed: the member is no longer a treasurer."))


@router.post(ONE_MEMBER + "/login")
async def link_login(page: MemberFormsDep) -> Response:
    link, form = await page.read(LoginLink, "subject")
    if link is None:
        return await page.again(form)
    async with refusable(page.db, page.viewer) as outcome:
        await members.link_login(
            page.db, page.member_id, link.subject, actor=page.viewer.actor, now=page.clock.now()
        )
    if outcome.refusal is not None:
        why = {
            "subject_linked": page._(
                "This login is linked to another member: unlink it there first."
            )
        }
        owner = await logins.member_id(page.db, link.subject)
        owner_url = member_url(owner) if owner is not None else None
        return await page.again(page.refused_by(outcome.refusal, form, "subject", why, owner_url))
    return page.saved(page._("Login linked."))


@router.post(ONE_MEMBER + "/login/remove")
async def unlink_login(page: MemberFormsDep) -> Response:
    async with refusable(page.db, page.viewer):
        await members.unlink_login(
            page.db, page.member_id, actor=page.viewer.actor, now=page.clock.now()
        )
    return page.saved(page._("Login unlinked: that person can link a card again."))
