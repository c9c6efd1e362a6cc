"""Admin pages: members — the list, searched by name, e-mail address or card, and the form to
add one; each member's own page is `api.web.admin.member_page` (and `member_access`).

Both go through `core.members`, as the JSON routes of `api.admin.members` do, and check what
is typed with the same request models.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from api.admin.members import NewMember, SearchText, add_member
from api.auth import ClockDep
from api.deps import DbDep
from api.web.admin import member_access, member_page
from api.web.admin.member_access import card_taken
from api.web.admin.member_page import MEMBERS, BeforeIdDep, Refused, member_url, refusable, typed
from api.web.forms import FieldErrors, field_errors, validated
from api.web.render import gettext_for, notify, render
from api.web.viewer import AdminViewerDep, Viewer
from core import members
from core.paging import PAGE_DEFAULT, by_id, fetch_page

router = APIRouter(include_in_schema=False)
router.include_router(member_page.router)
router.include_router(member_access.router)

_SEARCH = TypeAdapter(SearchText)
NEW_MEMBER_FIELDS = ("name", "email", "card_uid", "opening_balance_cents")


def _search_text(q: str, viewer: Viewer) -> tuple[str | None, FieldErrors]:
    """What to search for (None: everyone), or the error beside the search field."""
    if not q:
        return None, {}
    try:
        return _SEARCH.validate_python(q), {}
    except ValidationError as error:
        return None, {"q": next(iter(field_errors(error, viewer.formats).values()))}


async def _list_page(
    request: Request,
    viewer: Viewer,
    db: DbDep,
    *,
    q: str = "",
    before_id: int | None = None,
    refused: Refused | None = None,
) -> Response:
    query, search_errors = _search_text(q, viewer)
    found = None
    if not search_errors:
        found = await fetch_page(
            lambda limit: members.search(db, query=query, limit=limit, before_id=before_id),
            PAGE_DEFAULT,
            by_id,
        )
    shown = refused or Refused({}, status=422 if search_errors else 200)
    context = {
        "admin_section": MEMBERS,
        "q": q,
        "found": found,
        "errors": search_errors | shown.errors,
        "values": shown.values,
        "owner_url": shown.owner_url,
    }
    return render(request, viewer, "admin/members/list.html", context, status=shown.status)


@router.get(MEMBERS)
async def member_list(
    request: Request,
    viewer: AdminViewerDep,
    db: DbDep,
    before_id: BeforeIdDep,
    q: Annotated[str, Query()] = "",
) -> Response:
    """Members newest first, or those whose name, e-mail address or card matches `q`."""
    return await _list_page(request, viewer, db, q=q.strip(), before_id=before_id)


@router.post(MEMBERS)
async def add_new_member(
    request: Request, viewer: AdminViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Add a member (with a card and an opening balance if given), then show their page."""
    form = await request.form()
    new, errors = validated(NewMember, form, viewer.formats, money=("opening_balance_cents",))
    values = typed(form, *NEW_MEMBER_FIELDS)
    if new is None:
        return await _list_page(request, viewer, db, refused=Refused(errors, 422, values))
    async with refusable(db, viewer) as outcome:
        added = await add_member(db, new, now=clock.now(), actor=viewer.actor)
    if outcome.refusal is not None:
        assert new.card_uid is not None
        taken = await card_taken(db, viewer.formats, outcome.refusal, new.card_uid, "card_uid")
        return await _list_page(request, viewer, db, refused=replace(taken, values=values))
    _ = gettext_for(viewer.language)
    notify(request, _("Member %(name)s added.") % {"name": new.name})
    return RedirectResponse(member_url(added.member_id), status_code=303)
