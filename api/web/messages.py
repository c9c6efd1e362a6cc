"""A `Message` (api.pages) said to a person as a page in the layout and their language, or to
a program as `{"detail", "error"}` JSON in English, with the same status either way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.pages import Message, prefers_json
from api.pages import untranslated as _
from api.web.i18n import Formats, Language, language_for
from api.web.render import gettext_for, render
from api.web.viewer import Viewer
from core.settings import Settings

MESSAGE_PAGE = "public/message.html"
# These addresses answer a page or JSON, so a cache must tell the two apart.
VARY = "Accept, Accept-Language, Cookie"


@dataclass(frozen=True)
class Action:
    """A link the page offers, its label a gettext message id."""

    href: str
    label: str


TO_START = Action("/", _("To the start page"))


def anonymous_viewer(request: Request) -> Viewer:
    """For a page said before the viewer is known, or when the database may be the trouble
    (a server error): nobody logged in, in the person's language."""
    settings: Settings = request.app.state.settings
    language: Language = language_for(request)
    return Viewer(None, None, language, Formats(language, settings.currency, settings.zone), False)


def as_json(message: Message, *, name: str = "") -> JSONResponse:
    body = {"detail": " ".join(message.paragraphs).format(name=name)}
    if message.error is not None:
        body["error"] = message.error
    return JSONResponse(body, status_code=message.status, headers={"Vary": "Accept"})


def as_page(
    request: Request,
    viewer: Viewer,
    message: Message,
    *,
    actions: Sequence[Action] = (),
    name: str = "",
    template: str = MESSAGE_PAGE,
    context: dict[str, Any] | None = None,
) -> HTMLResponse:
    """`message` in `template` (the message page or one extending it), translated."""
    _ = gettext_for(viewer.language)
    said = {
        "title": _(message.title),
        "paragraphs": [_(paragraph).format(name=name) for paragraph in message.paragraphs],
        "actions": [(action.href, _(action.label)) for action in actions],
    }
    page = render(request, viewer, template, {**said, **(context or {})}, status=message.status)
    page.headers["Vary"] = VARY
    return page


def answer(
    request: Request,
    viewer: Viewer,
    message: Message,
    *,
    actions: Sequence[Action] = (),
    name: str = "",
    template: str = MESSAGE_PAGE,
    context: dict[str, Any] | None = None,
) -> Response:
    """The message as a page, or as JSON for a client that prefers it."""
    if prefers_json(request):
        return as_json(message, name=name)
    return as_page(
        request, viewer, message, actions=actions, name=name, template=template, context=context
    )
