"""Admin page of rentals: the items and where they are, who has what now, the history, and
who may rent; forms to add an item, take it out of service or back, grant and revoke."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from api.admin.rentals import NewRentalItem
from api.auth import ClockDep
from api.deps import DbDep
from api.fields import REQUEST, Paging, one_line
from api.web.forms import FieldErrors, validated
from api.web.render import gettext_for, notify, render
from api.web.viewer import AdminViewerDep, PageNotFound, Viewer
from core import members, rentals
from core.clock import Clock
from core.errors import Conflict, NotFound, UnknownItem
from core.formats import BIGINT_MAX, NAME_MAX

router = APIRouter(include_in_schema=False)
SECTION = "/admin/rentals"
HISTORY_PAGE = 20
MATCHES_SHOWN = 10


class MemberLookup(BaseModel):
    """The permission form's search: part of a member's name (or e-mail, or card UID)."""

    q: Annotated[str, one_line(NAME_MAX)]


class Grantee(BaseModel):
    model_config = REQUEST

    member_id: Annotated[int, Field(ge=1, le=BIGINT_MAX)]


@dataclass(frozen=True)
class Forms:
    """What the page's forms hold after a refused post: the values, the errors by field."""

    item: dict[str, str] | None = None
    item_errors: FieldErrors | None = None
    grant_error: str | None = None


def _row_id(text: str, viewer: Viewer) -> int:
    """An id from the address; anything else is no page (not a JSON 422)."""
    if not text.isdecimal() or not 1 <= int(text) <= BIGINT_MAX:
        raise PageNotFound(viewer)
    return int(text)


async def _page(
    request: Request,
    viewer: Viewer,
    db: DbDep,
    clock: Clock,
    *,
    query: str | None = None,
    before: str | None = None,
    forms: Forms | None = None,
    status: int = 200,
) -> Response:
    """The page; after a refused post, with its form's values and errors (`forms`)."""
    forms = forms or Forms()
    before_id = None if before is None else _row_id(before, viewer)
    items = await rentals.listing(db)
    history = await Paging(HISTORY_PAGE, before_id).fetch(
        partial(rentals.history, db), lambda rental: rental.rental_id
    )
    lookup: MemberLookup | None = None
    lookup_errors: FieldErrors = {}
    if query is not None:
        lookup, lookup_errors = validated(MemberLookup, {"q": query}, viewer.formats)
    now = clock.now()
    context: dict[str, Any] = {
        "admin_section": SECTION,
        "items": items,
        "out_now": [
            (item, (now - item.since).total_seconds())
            for item in items
            if item.out and item.since is not None
        ],
        "history": history,
        "next_url": f"{SECTION}?before_id={history.next_before_id}#history"
        if history.next_before_id
        else None,
        "permissions": await rentals.permissions(db),
        "query": query or "",
        "lookup_errors": lookup_errors,
        "matches": await members.search(db, query=lookup.q, limit=MATCHES_SHOWN)
        if lookup
        else None,
        "item_form": forms.item or {},
        "item_errors": forms.item_errors or {},
        "grant_error": forms.grant_error,
    }
    return render(request, viewer, "admin/rentals/page.html", context, status=status)


@router.get(SECTION)
async def rentals_page(
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    clock: ClockDep,
    q: Annotated[str | None, Query()] = None,
    before_id: Annotated[str | None, Query()] = None,
) -> Response:
    """Items, who has what, permissions (`?q=` looks members up to grant) and the history
    (`?before_id=` pages back)."""
    return await _page(request, viewer, db, clock, query=q, before=before_id)


@router.post(SECTION + "/items")
async def add_item(
    request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Register an item by its UHF tag."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    new, errors = validated(NewRentalItem, form, viewer.formats)
    if new is None:
        return await _page(
            request, viewer, db, clock, forms=Forms(item=form, item_errors=errors), status=422
        )
    _ = gettext_for(viewer.language)
    try:
        async with db.begin_nested():
            added = await rentals.add_item(
                db,
                tid=new.tid,
                name=new.name,
                description=new.description,
                actor=viewer.actor,
                now=clock.now(),
            )
    except Conflict:
        taken = {"tid": _("An item with this TID is registered already.")}
        return await _page(
            request, viewer, db, clock, forms=Forms(item=form, item_errors=taken), status=409
        )
    notify(request, _("%(name)s added.") % {"name": added.name})
    return RedirectResponse(f"{SECTION}#items", status_code=303)


async def _set_active(
    request: Request, viewer: Viewer, db: DbDep, clock: ClockDep, tid: str, *, active: bool
) -> Response:
    change = rentals.reactivate if active else rentals.deactivate
    try:
        async with db.begin_nested():
            item = await change(db, tid, actor=viewer.actor, now=clock.now())
    except (UnknownItem, ValueError):
        raise PageNotFound(viewer) from None
    _ = gettext_for(viewer.language)
    text = _("%(name)s can be rented again.") if active else _("%(name)s is out of service.")
    notify(request, text % {"name": item.name})
    return RedirectResponse(f"{SECTION}#items", status_code=303)


@router.post(SECTION + "/items/{tid}/deactivate")
async def deactivate_item(
    tid: str, request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """No new rentals of the item; if it is out, it can still come back."""
    return await _set_active(request, viewer, db, clock, tid, active=False)


@router.post(SECTION + "/items/{tid}/activate")
async def activate_item(
    tid: str, request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Put the item back into service."""
    return await _set_active(request, viewer, db, clock, tid, active=True)


@router.post(SECTION + "/permissions")
async def grant_permission(
    request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Let the chosen member rent items."""
    grantee, _errors = validated(Grantee, await request.form(), viewer.formats)
    _ = gettext_for(viewer.language)
    if grantee is None:
        choose = Forms(grant_error=_("Please look the member up and choose them."))
        return await _page(request, viewer, db, clock, forms=choose, status=422)
    try:
        async with db.begin_nested():
            await rentals.permit(db, grantee.member_id, actor=viewer.actor, now=clock.now())
    except NotFound:
        gone = Forms(grant_error=_("This member no longer exists."))
        return await _page(request, viewer, db, clock, forms=gone, status=404)
    granted = await rentals.permission(db, grantee.member_id)
    notify(request, _("%(name)s may rent items now.") % {"name": granted.member_name})
    return RedirectResponse(f"{SECTION}#permissions", status_code=303)


@router.post(SECTION + "/permissions/{member_id}/revoke")
async def revoke_permission(
    member_id: str, request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Stop the member renting; what they have out stays out until it comes back."""
    try:
        revoked = await rentals.permission(db, _row_id(member_id, viewer))
    except NotFound:
        raise PageNotFound(viewer) from None
    await rentals.revoke(db, revoked.member_id, actor=viewer.actor, now=clock.now())
    _ = gettext_for(viewer.language)
    notify(request, _("%(name)s may no longer rent items.") % {"name": revoked.member_name})
    return RedirectResponse(f"{SECTION}#permissions", status_code=303)
