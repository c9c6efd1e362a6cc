"""A cash box's month statement as a PDF, typeset by typst.

Everything the document shows goes in as one JSON value through `sys.inputs`, already worded
and formatted in the reader's language; the typst file decodes it and places the strings as
text. So a member's name or a note is never read as typst markup, whatever it contains.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typst
from babel.dates import format_date

from api.web.i18n import Formats
from api.web.render import gettext_for
from core.cash_boxes import PeriodStatement
from core.months import Month

TEMPLATE = Path(__file__).parent / "templates" / "pdf" / "statement.typ"


def kind_words(formats: Formats) -> dict[str, str]:
    """What each kind of cash-box entry is called."""
    _ = gettext_for(formats.language)
    return {"topup": _("Top-up"), "donation": _("Donation"), "payout": _("Payout")}


def month_name(month: Month, formats: Formats) -> str:
    """`December 2026` / `Dezember 2026`."""
    return format_date(date(month.year, month.month, 1), "LLLL y", locale=formats.locale)


def statement_pdf(
    statement: PeriodStatement, month: Month, formats: Formats, *, space_name: str
) -> bytes:
    """The statement of one month as a PDF document."""
    _ = gettext_for(formats.language)
    kinds = kind_words(formats)
    data = {
        "lang": formats.language,
        "title": _("Statement of %(box)s") % {"box": statement.box.name},
        "space": space_name,
        "month": month_name(month, formats),
        "headings": [
            _("When"),
            _("Kind"),
            _("Member"),
            _("Amount"),
            _("Box balance after"),
            _("Note"),
        ],
        "lines": [
            [
                formats.datetime(line.created_at, "short"),
                kinds.get(line.kind, line.kind),
                line.member_name or "",
                formats.money(line.amount_cents),
                formats.money(line.balance_after_cents),
                line.note or "",
            ]
            for line in statement.lines
        ],
        "no_lines": _("No entries in this month."),
        "totals": [
            [_("Balance at the start"), formats.money(statement.opening_cents)],
            [_("Paid in"), formats.money(statement.paid_in_cents)],
            [_("Paid out"), formats.money(statement.paid_out_cents)],
            [_("Balance at the end"), formats.money(statement.closing_cents)],
        ],
    }
    return typst.compile(str(TEMPLATE), format="pdf", sys_inputs={"data": json.dumps(data)})
