"""Small server-rendered pages for people: the card link, a failed login, a server error.

English or German (from Accept-Language); no scripts, no other origins, no framing. A client
whose Accept header prefers `application/json` gets `{"detail", "error"}` JSON with the same
status instead of a page.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from html import escape
from typing import Literal

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

Language = Literal["en", "de"]


@dataclass(frozen=True)
class Text:
    title: str
    body: str


@dataclass(frozen=True)
class Message:
    """What a page says, in both languages."""

    status: int
    error: str | None
    en: Text
    de: Text

    def text(self, language: Language) -> Text:
        return self.de if language == "de" else self.en


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5}button,a.button{display:block;box-sizing:border-box;width:100%;"
    "font-size:1.1rem;padding:.8rem;text-align:center}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
# No scripts, no other origins, no framing (a framed confirm button could be clickjacked).
# `same-origin`: a page's address may hold a secret (`/link/<token>`), so no other site is
# told where the person came from, while our own forms carry a real `Origin` for the
# cross-site check (under `no-referrer`, browsers send `Origin: null` even to us).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Vary": "Accept, Accept-Language, Cookie",
}


START_PAGE = {"en": "To the start page", "de": "Zur Startseite"}


def _ranges(header: str) -> list[tuple[str, float]]:
    """`text/html;q=0.9, */*;q=0.8` → [("text/html", 0.9), ("*/*", 0.8)], in header order."""
    ranges = []
    for part in header.split(","):
        value, *params = part.split(";")
        quality = 1.0
        for param in params:
            name, _, number = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        if not 0.0 <= quality <= 1.0:  # also NaN
            quality = 0.0
        ranges.append((value.strip().lower(), quality))
    return ranges


def _quality(ranges: list[tuple[str, float]], media_type: str) -> float:
    """How much the client wants `media_type`: the q of its most specific matching range."""
    group = media_type.split("/")[0]
    specificity = {media_type: 2, f"{group}/*": 1, "*/*": 0}
    best, best_level = 0.0, -1
    for value, quality in ranges:
        level = specificity.get(value, -1)
        if level > best_level:
            best, best_level = quality, level
    return best


def _html_versus_json(request: Request) -> tuple[float, float]:
    ranges = _ranges(request.headers.get("accept", ""))
    return _quality(ranges, "text/html"), _quality(ranges, "application/json")


def prefers_json(request: Request) -> bool:
    """Whether the Accept header ranks `application/json` above `text/html`."""
    html, json = _html_versus_json(request)
    return json > html


def prefers_html(request: Request) -> bool:
    """Whether the Accept header ranks `text/html` above `application/json` (a browser)."""
    html, json = _html_versus_json(request)
    return html > json


def language_of(request: Request) -> Language:
    """German when Accept-Language ranks it above English, else English."""
    ranked = sorted(
        _ranges(request.headers.get("accept-language", "")), key=lambda r: r[1], reverse=True
    )
    for value, quality in ranked:
        primary = value.split("-")[0]
        if quality > 0 and primary in ("de", "en"):
            return "de" if primary == "de" else "en"
    return "en"


def link(href: str, label: str) -> str:
    return f'<p><a class="button" href="{escape(href)}">{escape(label)}</a></p>'


def page(language: Language, text: Text, action_html: str, status: int) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(text.title)} · makerbus</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(text.title)}</h1><p>{escape(text.body)}</p>{action_html}"
        "</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def as_json(message: Message, *, name: str = "") -> JSONResponse:
    body = {"detail": message.en.body.format(name=name)}
    if message.error is not None:
        body["error"] = message.error
    return JSONResponse(body, status_code=message.status, headers={"Vary": "Accept"})


def as_page(
    request: Request, message: Message, *, action_html: str = "", name: str = ""
) -> Response:
    language = language_of(request)
    text = message.text(language)
    return page(
        language,
        Text(text.title, text.body.format(name=name)),
        action_html,
        message.status,
    )


def answer(
    request: Request, message: Message, *, action_html: str = "", name: str = ""
) -> Response:
    """The message as a page, or as JSON for a client that prefers it."""
    if prefers_json(request):
        return as_json(message, name=name)
    return as_page(request, message, action_html=action_html, name=name)
