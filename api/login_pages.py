"""What a person sees when a login does not work out: a page in their language with a way to
start again (`/auth/login`, back to where they were going) and to the start page. An API
client that asks for JSON gets `{"detail", "error"}` with the same status.

The provider's own words (`error_description`) never appear: a crafted link must not put text
of an attacker's choosing on our page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from api.pages import START_PAGE, Message, Text, answer, language_of, link

TRY_AGAIN_EN = "Please try again."
TRY_AGAIN_DE = "Versuch es bitte noch einmal."
LOGIN_FAILED = Message(
    400,
    "login_failed",
    Text(
        "Login failed",
        "The login could not be completed: it may have taken too long, been started in "
        f"another window, or the login service's answer could not be checked. {TRY_AGAIN_EN}",
    ),
    Text(
        "Anmeldung fehlgeschlagen",
        "Die Anmeldung ließ sich nicht abschließen: Sie hat vielleicht zu lange gedauert, "
        "wurde in einem anderen Fenster begonnen, oder die Antwort des Anmeldedienstes "
        f"ließ sich nicht prüfen. {TRY_AGAIN_DE}",
    ),
)
LOGIN_DENIED = Message(
    400,
    "login_denied",
    Text(
        "Not logged in",
        "The login service did not log you in: the login was cancelled or refused. If you "
        "should have access, ask an admin.",
    ),
    Text(
        "Nicht angemeldet",
        "Der Anmeldedienst hat dich nicht angemeldet: Die Anmeldung wurde abgebrochen oder "
        "abgelehnt. Solltest du Zugang haben, frag einen Admin.",
    ),
)
PROVIDER_UNREACHABLE = Message(
    502,
    "login_provider_unreachable",
    Text(
        "Login unavailable",
        "The login service cannot be reached right now. Please try again in a few minutes.",
    ),
    Text(
        "Anmeldung nicht erreichbar",
        "Der Anmeldedienst ist gerade nicht erreichbar. Versuch es bitte in ein paar "
        "Minuten noch einmal.",
    ),
)
NOT_CONFIGURED = Message(
    503,
    "login_not_configured",
    Text(
        "Login not set up",
        "Logging in is not set up on this server yet (MAKERBUS_OIDC_DISCOVERY_URL). Tell an admin.",
    ),
    Text(
        "Anmeldung nicht eingerichtet",
        "Die Anmeldung ist auf diesem Server noch nicht eingerichtet "
        "(MAKERBUS_OIDC_DISCOVERY_URL). Sag einem Admin Bescheid.",
    ),
)
START_AGAIN = {"en": "Log in again", "de": "Neu anmelden"}


def refused(request: Request, message: Message, next_path: str) -> Response:
    """The failed login as a page whose first link starts the login again towards
    `next_path` (a path checked by `safe_next`)."""
    language = language_of(request)
    again = "/auth/login" if next_path == "/" else f"/auth/login?{urlencode({'next': next_path})}"
    actions = link(again, START_AGAIN[language]) + link("/", START_PAGE[language])
    return answer(request, message, action_html=actions)
