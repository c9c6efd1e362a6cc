"""Calendar months in the space's time zone: a statement covers one, from local midnight on
the first to local midnight on the first of the next month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1 <= self.month <= 12 and 1 <= self.year <= 9998):
            raise ValueError(f"no month {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-12` (what `<input type="month">` sends) as a Month, or ValueError."""
        found = _MONTH.match(text)
        if found is None:
            raise ValueError(f"a month is written YYYY-MM, not {text!r}")
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, moment: datetime, zone: tzinfo) -> Month:
        """The month `moment` falls in, as the clocks in `zone` show it."""
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def start(self, zone: tzinfo) -> datetime:
        """Midnight on the first, local time in `zone`, as UTC."""
        return datetime(self.year, self.month, 1, tzinfo=zone).astimezone(UTC)

    def span(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) of the month in `zone`, in UTC."""
        return self.start(zone), self.next.start(zone)
