"""A cash box's month statement as a PDF: the text read back from the document says the box,
the month, each entry's amount and the closing balance in the reader's language, and a note
full of typst markup characters is printed as written."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import Headers
from tests.api.web.cash_box_data import box_with_a_november

MARKUP_NOTE = "#set text(red) *bold* $x$ ] [#pagebreak()]"


def _text(pdf: bytes) -> str:
    """The document's text, with every run of blanks (no-break spaces too) as one space."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            [
                "November 2026",
                "Balance at the start",
                "€100.00",
                "€12.50",
                "€0.75",
                "-€30.00",
                "Balance at the end",
                "€83.25",
                "Top-up",
                "Grace Hopper",
            ],
        ),
        (
            "de",
            [
                "November 2026",
                "Anfangsbestand",
                "100,00 €",
                "12,50 €",
                "0,75 €",
                "-30,00 €",
                "Endbestand",
                "83,25 €",
                "Aufladung",
                "Grace Hopper",
            ],
        ),
    ],
)
async def test_the_pdf_shows_the_months_figures_in_the_readers_language(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    admin: Headers,
    language: str,
    expected: list[str],
) -> None:
    slug = await box_with_a_november(committed_db, name="Kaffeekasse Süd", payout_note=MARKUP_NOTE)

    answer = await client.get(
        f"/admin/cash-boxes/{slug}/statement-2026-11.pdf",
        headers={**admin, "Accept-Language": language},
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == f'attachment; filename="{slug}-2026-11.pdf"'
    assert answer.headers["cache-control"] == "no-store"
    text = _text(answer.content)
    assert "Kaffeekasse Süd" in text
    assert [figure for figure in expected if figure not in text] == []
    assert MARKUP_NOTE in text


async def test_the_pdf_is_for_admins_only(
    client: httpx.AsyncClient, product_manager: Headers
) -> None:
    answer = await client.get(
        "/admin/cash-boxes/any-box/statement-2026-11.pdf", headers=product_manager
    )

    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")


async def test_a_month_that_is_no_month_or_a_box_that_does_not_exist_is_not_found(
    client: httpx.AsyncClient, committed_db: AsyncSession, admin: Headers
) -> None:
    slug = await box_with_a_november(committed_db, name="Kaffeekasse Süd", payout_note=MARKUP_NOTE)

    no_month = await client.get(f"/admin/cash-boxes/{slug}/statement-2026-13.pdf", headers=admin)
    no_box = await client.get("/admin/cash-boxes/no-such-box/statement-2026-11.pdf", headers=admin)

    assert (no_month.status_code, no_box.status_code) == (404, 404)
    assert no_box.headers["content-type"].startswith("text/html")
