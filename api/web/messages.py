"""A `Message` (api.pages) said to a person as a page in the layout and their language, or to
a program as `{"detail", "error"}` JSON in English, with the same status either way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

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


class PageParts(TypedDict, total=False):
    """What a message page may add: links to go on (`actions`), the `{name}` in its text,
    a template extending the message page, and what that template needs."""

    actions: Sequence[Action]
    name: str
    template: str
    context: dict[str, Any]


def as_page(
    request: Request, viewer: Viewer, message: Message, **parts: Unpack[PageParts]
) -> HTMLResponse:
    """`message` translated, in the message page or a template extending it."""
    _ = gettext_for(viewer.language)
    name = parts.get("name", "")
    said = {
        "title": _(message.title),
        "paragraphs": [_(paragraph).format(name=name) for paragraph in message.paragraphs],
        "actions": [(action.href, _(action.label)) for action in parts.get("actions", ())],
        **parts.get("context", {}),
    }
    template = parts.get("template", MESSAGE_PAGE)
    page = render(request, viewer, template, said, status=message.status)
    page.headers["Vary"] = VARY
    return page


def answer(
    request: Request, viewer: Viewer, message: Message, **parts: Unpack[PageParts]
) -> Response:
    """The message as a page, or as JSON for a client that prefers it."""
    if prefers_json(request):
        return as_json(message, name=parts.get("name", ""))
    return as_page(request, viewer, message, **parts)
