"""The card-link pages: a card holder's phone opens `/link/{token}` from a terminal's QR code.

GET shows a confirmation page (after the login, if need be) and changes nothing: a GET can be
triggered by any other site through a top-level navigation, which carries our Lax cookie, and
would otherwise let someone link their card to a victim's login. The POST its form sends links
the card; it is refused cross-site like every unsafe request (`api.auth`). Pages are small,
self-contained HTML in English or German (from Accept-Language); a client whose Accept header
prefers `application/json` gets `{"detail", "error"}` JSON with the same status instead.
"""

from __future__ import annotations

import logging
import re
from html import escape
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import ClockDep, LenientPrincipalDep
from api.deps import DbDep
from api.pages import Message, Text, answer, language_of, link
from core import link_tokens, self_service
from core.errors import CardBlocked, CardLinked, DomainError
from core.link_tokens import LinkTokenExpired, LinkTokenUsed, SubjectLinked, UnknownLinkToken

log = logging.getLogger(__name__)
router = APIRouter(tags=["card link"])

# `secrets.token_urlsafe(32)` gives 43 characters; anything else is no token of ours.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


ASK_AGAIN_EN = "Ask the terminal for a new link."
ASK_AGAIN_DE = "Lass dir am Terminal einen neuen Link geben."
CONFIRM = Message(
    200,
    None,
    Text(
        "Link this card",
        "Link this card to your login ({name})? Then you can see your balance here.",
    ),
    Text(
        "Karte verknüpfen",
        "Diese Karte mit deinem Login ({name}) verknüpfen? Dann siehst du hier dein Guthaben.",
    ),
)
LINKED = Message(
    200,
    None,
    Text("Card linked", "Your card is linked to your login: you can now see your balance."),
    Text(
        "Karte verknüpft",
        "Deine Karte ist mit deinem Login verknüpft: jetzt siehst du dein Guthaben.",
    ),
)
UNUSABLE = Message(
    410,
    "link_unusable",
    Text(
        "Link not usable",
        "This link cannot be used: it was used already, has expired or is mistyped. "
        f"{ASK_AGAIN_EN}",
    ),
    Text(
        "Link ungültig",
        "Dieser Link ist nicht nutzbar: schon benutzt, abgelaufen oder unvollständig. "
        f"{ASK_AGAIN_DE}",
    ),
)
NOT_LOGGED_IN = Message(
    401,
    "not_logged_in",
    Text("Please log in", "Log in first, then confirm the link again."),
    Text("Bitte anmelden", "Melde dich zuerst an und bestätige den Link dann noch einmal."),
)
API_TOKEN = Message(
    403,
    "api_token",
    Text("Not with an API token", "An API token cannot link cards: open the link and log in."),
    Text(
        "Nicht mit einem API-Token",
        "Ein API-Token kann keine Karten verknüpfen: öffne den Link und melde dich an.",
    ),
)
REFUSALS: dict[type[DomainError], Message] = {
    UnknownLinkToken: Message(
        404,
        "unknown_link_token",
        Text("Unknown link", f"This link is not valid. {ASK_AGAIN_EN}"),
        Text("Unbekannter Link", f"Dieser Link ist nicht gültig. {ASK_AGAIN_DE}"),
    ),
    LinkTokenUsed: Message(
        410,
        "link_token_used",
        Text("Link used already", f"Each link works once, and this one has. {ASK_AGAIN_EN}"),
        Text(
            "Link schon benutzt",
            f"Jeder Link funktioniert einmal, dieser schon. {ASK_AGAIN_DE}",
        ),
    ),
    LinkTokenExpired: Message(
        410,
        "link_token_expired",
        Text("Link expired", f"A link is valid for 15 minutes. {ASK_AGAIN_EN}"),
        Text("Link abgelaufen", f"Ein Link gilt 15 Minuten. {ASK_AGAIN_DE}"),
    ),
    CardBlocked: Message(
        409,
        "card_blocked",
        Text("Card blocked", "This card is blocked. An admin can unblock it."),
        Text("Karte gesperrt", "Diese Karte ist gesperrt. Ein Admin kann sie entsperren."),
    ),
    CardLinked: Message(
        409,
        "card_linked",
        Text(
            "Already linked",
            "The account of this card is linked to a login already; if it is yours, you are "
            "all set. Otherwise ask an admin.",
        ),
        Text(
            "Schon verknüpft",
            "Das Konto dieser Karte ist schon mit einem Login verknüpft; ist es deiner, ist "
            "alles erledigt. Sonst frag einen Admin.",
        ),
    ),
    SubjectLinked: Message(
        409,
        "subject_linked",
        Text(
            "Login linked to another account",
            "Your login is linked to another member account already, and a login belongs to "
            "one account. An admin can move this card to your account.",
        ),
        Text(
            "Login gehört zu einem anderen Konto",
            "Dein Login ist schon mit einem anderen Mitgliedskonto verknüpft, und ein Login "
            "gehört zu einem Konto. Ein Admin kann diese Karte zu deinem Konto verschieben.",
        ),
    ),
}

BUTTON = {"en": "Link this card to my login", "de": "Karte mit meinem Login verknüpfen"}
HOME = {"en": "To your account", "de": "Zu deinem Konto"}
LOG_IN = {"en": "Log in", "de": "Anmelden"}


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
    token: str, request: Request, visitor: LenientPrincipalDep, db: DbDep, clock: ClockDep
) -> Response:
    """The page a terminal's QR code opens: after the login, it asks to confirm linking the
    card to this login. It links nothing and does not use the token up; confirming POSTs to
    the same address. An unusable token (used, expired, unknown) is said at once as 410."""
    path = _link_path(token)
    if visitor is None:
        return RedirectResponse(f"/auth/login?{urlencode({'next': path})}", status_code=302)
    if visitor.is_token:
        return answer(request, API_TOKEN)
    usable = _TOKEN.fullmatch(token) is not None and await self_service.link_token_usable(
        db, token, now=clock.now()
    )
    if not usable:
        return answer(request, UNUSABLE)
    form = (
        f'<form method="post" action="{escape(path)}">'
        f"<button type=submit>{escape(BUTTON[language_of(request)])}</button></form>"
    )
    return answer(request, CONFIRM, action_html=form, name=visitor.name or visitor.subject)


@router.post(
    "/link/{token}",
    response_class=HTMLResponse,
    responses={401: {"description": "Not logged in"}, **_PAGE_RESPONSES},
)
async def link_card(
    token: str, request: Request, visitor: LenientPrincipalDep, db: DbDep, clock: ClockDep
) -> Response:
    """Link the token's card to this login (no body: the token is the path). From then on the
    login is the card's member: `/api/v1/me` shows their balance. A token links once; it is
    refused when used (410), expired (410), unknown (404), when the card is blocked (409), when
    the card's member has a login already (409) or this login belongs to another member (409:
    an admin can move the card). A refusal does not use the token up."""
    path = _link_path(token)
    if visitor is None:
        return answer(request, NOT_LOGGED_IN, action_html=link(path, LOG_IN[language_of(request)]))
    if visitor.is_token:
        return answer(request, API_TOKEN)
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
        return answer(request, _refusal(refused))
    log.info("card linked", extra={"member_id": member_id, "subject": visitor.subject})
    return answer(request, LINKED, action_html=link("/", HOME[language_of(request)]))
