"""Languages and formats: gettext catalogues (English is the source, German translated) and
money, dates and numbers per locale through Babel.

The German catalogue is split by area (`locales/de/LC_MESSAGES/<area>.po`, one per group of
pages) so that its parts can change independently; they are read once into one catalogue.
"""

from __future__ import annotations

import datetime as dt
import gettext
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Literal

from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from fastapi import Request

from api.pages import language_of

Language = Literal["en", "de"]
LANGUAGES: tuple[Language, ...] = ("en", "de")
LANGUAGE_NAMES: dict[Language, str] = {"en": "English", "de": "Deutsch"}
LANGUAGE_COOKIE = "makerbus_lang"
LOCALES = Path(__file__).parent / "locales"


def catalogue_files(language: Language) -> list[Path]:
    return sorted((LOCALES / language / "LC_MESSAGES").glob("*.po"))


def read_catalogue(language: Language) -> Catalog:
    """Every area's `.po` file of `language` as one catalogue."""
    merged = Catalog(locale=language)
    for path in catalogue_files(language):
        with path.open("rb") as file:
            for message in read_po(file, locale=language):
                if message.id:
                    merged[message.id] = message
    return merged


@cache
def translations(language: Language) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    compiled = BytesIO()
    write_mo(compiled, read_catalogue(language), use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def language_for(request: Request) -> Language:
    """The language the person chose on a page (a cookie), else their browser's."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    for language in LANGUAGES:
        if chosen == language:
            return language
    return language_of(request)


@dataclass(frozen=True)
class Formats:
    """Money, times and numbers the way a reader of `language` writes them, in the space's
    time zone."""

    language: Language
    currency: str
    zone: dt.tzinfo

    @property
    def locale(self) -> str:
        return "de_DE" if self.language == "de" else "en_GB"

    def money(self, cents: int) -> str:
        return format_currency(Decimal(cents) / 100, self.currency, locale=self.locale)

    def amount(self, cents: int) -> str:
        """Cents as a form field shows them: `12.50` / `12,50`, no currency sign."""
        return format_decimal(
            Decimal(cents) / 100, format="0.00", locale=self.locale, group_separator=False
        )

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, fraction: float) -> str:
        """0.125 as `12.5%` / `12,5 %`."""
        return format_percent(fraction, format="#,##0.#%", locale=self.locale)

    def local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.zone)

    def datetime(self, moment: dt.datetime | None, style: str = "medium") -> str:
        if moment is None:
            return ""
        return format_datetime(self.local(moment), format=style, locale=self.locale)

    def date(self, moment: dt.datetime | None, style: str = "medium") -> str:
        if moment is None:
            return ""
        return format_date(self.local(moment).date(), format=style, locale=self.locale)

    def time(self, moment: dt.datetime | None, style: str = "short") -> str:
        if moment is None:
            return ""
        return format_time(self.local(moment), format=style, locale=self.locale)

    def duration(self, seconds: int | float | None) -> str:
        if seconds is None:
            return ""
        return format_timedelta(dt.timedelta(seconds=seconds), threshold=1.5, locale=self.locale)
