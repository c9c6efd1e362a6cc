"""The pages' layout and headers: one Jinja2 environment per language (autoescaped, gettext
installed), rendered into a response that keeps the API's security.

The Content-Security-Policy allows scripts and styles from this site only: no inline script,
no inline style, nothing from another origin (a makerspace LAN may have no internet at all).
Every page is `no-store`: most show a person's own data, and the others show who is logged in.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.web.i18n import LANGUAGE_NAMES, LANGUAGES, Language, translations
from api.web.viewer import Viewer

TEMPLATES = Path(__file__).parent / "templates"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # A page's address may hold a secret (`/link/<token>`): no other site learns it.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Vary": "Accept-Language, Cookie",
}


@cache
def environment(language: Language) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def gettext_for(language: Language) -> Any:
    """`_` for Python code that makes text for a page (form errors, notices)."""
    return translations(language).gettext


def render(
    request: Request,
    viewer: Viewer,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """`template` in the viewer's language inside the layout, with the page headers."""
    page = environment(viewer.language).get_template(template)
    html = page.render(
        request=request,
        viewer=viewer,
        fmt=viewer.formats,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        notice=pop_notice(request),
        **(context or {}),
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


NOTICE_KEY = "notice"


def notify(request: Request, text: str) -> None:
    """A one-line confirmation ("Card blocked.") for the next page, after a redirect. Never
    put a secret here: it travels in a signed, not encrypted, cookie."""
    request.session[NOTICE_KEY] = text


def pop_notice(request: Request) -> str | None:
    if "session" not in request.scope:
        return None
    notice: str | None = request.session.pop(NOTICE_KEY, None)
    return notice
