"""What the small pages for people say (the card link, a failed login, a server error), and
how a request chooses between a page and JSON.

A `Message` holds English texts that are gettext message ids: `api.web.messages` renders it in
the person's language, or as `{"detail", "error"}` JSON (in English) with the same status for a
client whose Accept header prefers `application/json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Request

Language = Literal["en", "de"]


def untranslated(text: str) -> str:
    """Marks `text` for the German catalogue (import it as `_`); a page translates it when
    it is rendered, and JSON says it in English."""
    return text


@dataclass(frozen=True)
class Message:
    """A page's status, its code for programs (`error`), its title and its paragraphs, which
    may hold `{name}`."""

    status: int
    error: str | None
    title: str
    paragraphs: tuple[str, ...]


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
