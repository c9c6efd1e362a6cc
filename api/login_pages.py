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

from api.pages import Message
from api.pages import untranslated as _
from api.web.messages import TO_START, Action, anonymous_viewer, answer

LOGIN_FAILED = Message(
    400,
    "login_failed",
    _("Login failed"),
    (
        _(
            "The login could not be completed: it may have taken too long, been started in "
            "another window, or the login service's answer could not be checked."
        ),
        _("Please try again."),
    ),
)
LOGIN_DENIED = Message(
    400,
    "login_denied",
    _("Not logged in"),
    (
        _(
            "The login service did not log you in: the login was cancelled or refused. If you "
            "should have access, ask an admin."
        ),
    ),
)
PROVIDER_UNREACHABLE = Message(
    502,
    "login_provider_unreachable",
    _("Login unavailable"),
    (_("The login service cannot be reached right now. Please try again in a few minutes."),),
)
NOT_CONFIGURED = Message(
    503,
    "login_not_configured",
    _("Login not set up"),
    (
        _(
            "Logging in is not set up on this server yet (MAKERBUS_OIDC_DISCOVERY_URL). "
            "Tell an admin."
        ),
    ),
)


def refused(request: Request, message: Message, next_path: str) -> Response:
    """The failed login as a page whose first link starts the login again towards
    `next_path` (a path checked by `safe_next`)."""
    again = "/auth/login" if next_path == "/" else f"/auth/login?{urlencode({'next': next_path})}"
    actions = [Action(again, _("Log in again")), TO_START]
    return answer(_without_query(request), anonymous_viewer(request), message, actions=actions)


def _without_query(request: Request) -> Request:
    """The callback's query holds the provider's code and words: the page's language switch,
    which links back to the page's address, must not repeat them."""
    return Request({**request.scope, "query_string": b""}, request.receive)
