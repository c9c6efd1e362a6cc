"""The card-link pages: a card holder's phone opens `/link/{token}` from a terminal's QR code.

GET shows a confirmation page (after the login, if need be) and changes nothing: a GET can be
triggered by any other site through a top-level navigation, which carries our Lax cookie, and
would otherwise let someone link their card to a victim's login. The POST its form sends links
the card; it is refused cross-site like every unsafe request (`api.auth`). Pages are in the
layout, in the person's language; a client whose Accept header prefers `application/json` gets
`{"detail", "error"}` JSON with the same status instead (`api.web.messages`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import ClockDep
from api.deps import DbDep
from api.pages import Message
from api.pages import untranslated as _
from api.web.messages import Action, answer
from api.web.viewer import ViewerDep
from core import link_tokens, self_service
from core.errors import CardBlocked, CardLinked, DomainError
from core.link_tokens import LinkTokenExpired, LinkTokenUsed, SubjectLinked, UnknownLinkToken

log = logging.getLogger(__name__)
router = APIRouter(tags=["card link"])

# `secrets.token_urlsafe(32)` gives 43 characters; anything else is no token of ours.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


ASK_AGAIN = _("Ask the terminal for a new link.")
CONFIRM = Message(
    200,
    None,
    _("Link this card"),
    (_("Link this card to your login ({name})? Then you can see your balance here."),),
)
LINKED = Message(
    200,
    None,
    _("Card linked"),
    (_("Your card is linked to your login: you can now see your balance."),),
)
UNUSABLE = Message(
    410,
    "link_unusable",
    _("Link not usable"),
    (
        _("This link cannot be used: it was used already, has expired or is mistyped."),
        ASK_AGAIN,
    ),
)
NOT_LOGGED_IN = Message(
    401,
    "not_logged_in",
    _("Please log in"),
    (_("Log in first, then confirm the link again."),),
)
API_TOKEN = Message(
    403,
    "api_token",
    _("Not with an API token"),
    (_("An API token cannot link cards: open the link and log in."),),
)
REFUSALS: dict[type[DomainError], Message] = {
    UnknownLinkToken: Message(
        404, "unknown_link_token", _("Unknown link"), (_("This link is not valid."), ASK_AGAIN)
    ),
    LinkTokenUsed: Message(
        410,
        "link_token_used",
        _("Link used already"),
        (_("Each link works once, and this one has."), ASK_AGAIN),
    ),
    LinkTokenExpired: Message(
        410,
        "link_token_expired",
        _("Link expired"),
        (_("A link is valid for 15 minutes."), ASK_AGAIN),
    ),
    CardBlocked: Message(
        409,
        "card_blocked",
        _("Card blocked"),
        (_("This card is blocked. An admin can unblock it."),),
    ),
    CardLinked: Message(
        409,
        "card_linked",
        _("Already linked"),
        (
            _(
                "The account of this card is linked to a login already; if it is yours, you "
                "are all set. Otherwise ask an admin."
            ),
        ),
    ),
    SubjectLinked: Message(
        409,
        "subject_linked",
        _("Login linked to another account"),
        (
            _(
                "Your login is linked to another member account already, and a login belongs "
                "to one account. An admin can move this card to your account."
            ),
        ),
    ),
}
# `/` sends a member on to their own page.
TO_ACCOUNT = Action("/", _("To your account"))


def _refusal(error: Exception) -> Message:
    return next(message for kind, message in REFUSALS.items() if isinstance(error, kind))


def _link_path(token: str) -> str:
    return f"/link/{quote(token, safe='')}"


_PAGE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/html": {}, "application/json": {}}},
    403: {"description": "An API token, or a cross-site request"},
    404: {"description": "Unknown token (POST)"},
    409: {"description": "Card blocked, or card or login linked already (POST)"},
    410: {"description": "Token used or expired (POST); not usable (GET)"},
}


@router.get(
    "/link/{token}",
    response_class=HTMLResponse,
    responses={302: {"description": "Not logged in: to the login and back"}, **_PAGE_RESPONSES},
)
async def link_page(
    token: str, request: Request, viewer: ViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """The page a terminal's QR code opens: after the login, it asks to confirm linking the
    card to this login. It links nothing and does not use the token up; confirming POSTs to
    the same address. An unusable token (used, expired, unknown) is said at once as 410."""
    path = _link_path(token)
    visitor = viewer.principal
    if visitor is None:
        return RedirectResponse(f"/auth/login?{urlencode({'next': path})}", status_code=302)
    if visitor.is_token:
        return answer(request, viewer, API_TOKEN)
    usable = _TOKEN.fullmatch(token) is not None and await self_service.link_token_usable(
        db, token, now=clock.now()
    )
    if not usable:
        return answer(request, viewer, UNUSABLE)
    return answer(
        request,
        viewer,
        CONFIRM,
        name=visitor.name or visitor.subject,
        template="card_link/confirm.html",
        context={"action": path},
    )


@router.post(
    "/link/{token}",
    response_class=HTMLResponse,
    responses={401: {"description": "Not logged in"}, **_PAGE_RESPONSES},
)
async def link_card(
    token: str, request: Request, viewer: ViewerDep, db: DbDep, clock: ClockDep
) -> Response:
    """Link the token's card to this login (no body: the token is the path). From then on the
    login is the card's member: `/api/v1/me` shows their balance. A token links once; it is
    refused when used (410), expired (410), unknown (404), when the card is blocked (409), when
    the card's member has a login already (409) or this login belongs to another member (409:
    an admin can move the card). A refusal does not use the token up."""
    path = _link_path(token)
    visitor = viewer.principal
    if visitor is None:
        return answer(request, viewer, NOT_LOGGED_IN, actions=[Action(path, _("Log in"))])
    if visitor.is_token:
        return answer(request, viewer, API_TOKEN)
    try:
        if _TOKEN.fullmatch(token) is None:
            raise UnknownLinkToken("this link is not valid")
        # The savepoint undoes a refused redeem (the token stays usable) while the request's
        # transaction still commits, since the refusal is answered as a page, not raised.
        async with db.begin_nested():
            member_id = await link_tokens.redeem(
                db, token, subject=visitor.subject, now=clock.now()
            )
    except tuple(REFUSALS) as refused:
        log.info("card link refused", extra={"error": refused.code})
        return answer(request, viewer, _refusal(refused))
    log.info("card linked", extra={"member_id": member_id, "subject": visitor.subject})
    linked = replace(viewer, member_id=member_id)  # the layout's menu shows the account now
    return answer(request, linked, LINKED, actions=[TO_ACCOUNT])
