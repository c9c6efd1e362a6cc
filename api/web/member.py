"""A member's own pages: the account at a glance, the ledger, sessions, rentals, the machines
at their prices, and the cards (block a lost one).

They read the same core read models as `/api/v1/me` (`api.me`), bounded by the viewer's own
member id, so another member's rows are simply not there: an id of theirs is the 404 page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import ClockDep
from api.deps import DbDep
from api.fields import Id, PagingDep
from api.me import block_own_card
from api.web.render import gettext_for, notify, render
from api.web.viewer import MemberViewerDep, PageNotFound, Viewer
from core import members, self_service
from core.errors import NotFound
from core.ledger import EntryKind
from core.members import CardInfo
from core.paging import PAGE_MAX
from core.rentals import history as rental_history
from core.self_service import LedgerLine
from core.sessions import records as session_records

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

# The front page shows this many ledger lines; its chart the balance after the newest PAGE_MAX.
RECENT_LINES = 5


def _own(viewer: Viewer) -> int:
    assert viewer.member_id is not None  # MemberViewerDep saw to it
    return viewer.member_id


def older_url(request: Request, next_before_id: int | None) -> str | None:
    """This page's address asking for the rows older than `next_before_id` (None: no more)."""
    if next_before_id is None:
        return None
    query = dict(request.query_params) | {"before_id": str(next_before_id)}
    return f"{request.url.path}?{urlencode(query)}"


def balance_chart(viewer: Viewer, lines: list[LedgerLine]) -> dict[str, Any]:
    """The data island of the balance chart: the balance after each line, oldest first."""
    oldest_first = list(reversed(lines))
    return {
        "label": gettext_for(viewer.language)("Balance"),
        "x": [int(line.created_at.timestamp()) for line in oldest_first],
        "y": [line.balance_after_cents for line in oldest_first],
        "format": {
            "locale": viewer.formats.locale.replace("_", "-"),
            "currency": viewer.formats.currency,
            "divisor": 100,
            "zone": str(viewer.formats.zone),
        },
    }


@router.get("/me")
async def account(request: Request, viewer: MemberViewerDep, db: DbDep) -> Response:
    """Where a member lands: balance, its course, the newest lines, what runs and is out."""
    member_id = _own(viewer)
    lines = (await self_service.ledger(db, member_id, limit=PAGE_MAX)).items
    context = {
        "account": await members.summary(db, member_id),
        "recent": lines[:RECENT_LINES],
        "chart": balance_chart(viewer, lines),
        "oldest": lines[-1] if lines else None,
        "running": await session_records(db, member_id=member_id, is_open=True, limit=PAGE_MAX),
        "out": await rental_history(db, member_id=member_id, open_only=True, limit=PAGE_MAX),
        "now": request.app.state.clock.now(),
    }
    return render(request, viewer, "member/account.html", context)


def _kind(chosen: str | None) -> EntryKind | None:
    """The kind chosen in the filter; anything else (the empty "all") shows every kind."""
    try:
        return EntryKind(chosen or "")
    except ValueError:
        return None


@router.get("/me/ledger")
async def ledger(
    request: Request,
    viewer: MemberViewerDep,
    db: DbDep,
    paging: PagingDep,
    kind: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Every change of the balance, newest first, optionally of one kind."""
    chosen = _kind(kind)
    page = await self_service.ledger(
        db, _own(viewer), before_id=paging.before_id, limit=paging.limit, kind=chosen
    )
    context = {
        "lines": page.items,
        "kinds": list(EntryKind),
        "chosen": chosen,
        "older": older_url(request, page.next_before_id),
    }
    return render(request, viewer, "member/ledger.html", context)


def _now_and_before(
    template: str, query: Callable[..., Awaitable[list[T]]], open_flag: str, key: Callable[[T], int]
) -> Callable[..., Awaitable[Response]]:
    """A page of what the member has open now (all of it) above what is over (paged, newest
    first), from a core query that takes `member_id` and `open_flag` (True: open only)."""

    async def page(
        request: Request, viewer: MemberViewerDep, db: DbDep, paging: PagingDep
    ) -> Response:
        mine = partial(query, db, member_id=_own(viewer))
        current = await mine(limit=PAGE_MAX, **{open_flag: True})
        past = await paging.fetch(partial(mine, **{open_flag: False}), key)
        context = {
            "current": current,
            "past": past.items,
            "older": older_url(request, past.next_before_id),
            "now": request.app.state.clock.now(),
        }
        return render(request, viewer, template, context)

    return page


# The running session with its cost so far, and the finished ones.
router.add_api_route(
    "/me/sessions",
    _now_and_before(
        "member/sessions.html", session_records, "is_open", lambda record: record.session_id
    ),
    methods=["GET"],
)
# What the member has out now, and what they brought back.
router.add_api_route(
    "/me/rentals",
    _now_and_before(
        "member/rentals.html", rental_history, "open_only", lambda rental: rental.rental_id
    ),
    methods=["GET"],
)


@router.get("/me/machines")
async def machines(request: Request, viewer: MemberViewerDep, db: DbDep) -> Response:
    """The machines the member may use, at the prices that apply to them."""
    context = {"machines": await self_service.machines(db, _own(viewer))}
    return render(request, viewer, "member/machines.html", context)


@router.get("/me/cards")
async def cards(request: Request, viewer: MemberViewerDep, db: DbDep) -> Response:
    """The member's cards, blocked ones included, each with a way to block it."""
    context = {"cards": await members.cards(db, _own(viewer))}
    return render(request, viewer, "member/cards.html", context)


async def _own_card(db: AsyncSession, viewer: Viewer, card_id: int) -> CardInfo:
    for card in await members.cards(db, _own(viewer)):
        if card.id == card_id:
            return card
    raise PageNotFound(viewer)


@router.get("/me/cards/{card_id}/block")
async def confirm_block(
    request: Request, viewer: MemberViewerDep, db: DbDep, card_id: Id
) -> Response:
    """Asks before blocking: a blocked card only an admin can unblock."""
    context = {"card": await _own_card(db, viewer, card_id)}
    return render(request, viewer, "member/block_card.html", context)


@router.post("/me/cards/{card_id}/block")
async def block(
    request: Request, viewer: MemberViewerDep, db: DbDep, clock: ClockDep, card_id: Id
) -> Response:
    """Block the card, then back to the cards with a notice."""
    try:
        async with db.begin_nested():
            card = await block_own_card(
                db, _own(viewer), card_id, actor=viewer.actor, now=clock.now()
            )
    except NotFound:
        raise PageNotFound(viewer) from None
    _ = gettext_for(viewer.language)
    notify(request, _("Card %(card)s is blocked.") % {"card": card.uid})
    return RedirectResponse("/me/cards", status_code=303)
