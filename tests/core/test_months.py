"""Months in the space's time zone, as statements use them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.months import Month

BERLIN = ZoneInfo("Europe/Berlin")


def test_parse_reads_what_a_month_input_sends() -> None:
    assert Month.parse("2026-12") == Month(2026, 12)
    assert str(Month(2026, 3)) == "2026-03"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-12", "2026-12-01", ""])
def test_parse_refuses_what_is_no_month(text: str) -> None:
    with pytest.raises(ValueError, match="month"):
        Month.parse(text)


def test_previous_and_next_cross_the_year() -> None:
    assert Month(2026, 1).previous == Month(2025, 12)
    assert Month(2026, 12).next == Month(2027, 1)


def test_span_runs_from_local_midnight_to_local_midnight() -> None:
    start, end = Month(2026, 3).span(BERLIN)

    assert start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)  # CET, UTC+1
    assert end == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)  # CEST since the 29th, UTC+2


def test_of_uses_the_local_date() -> None:
    new_year_in_berlin = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)

    assert Month.of(new_year_in_berlin, BERLIN) == Month(2027, 1)
    assert Month.of(new_year_in_berlin, UTC) == Month(2026, 12)
