"""The Bankomat's cash that is not booked yet, kept in a small JSON file that survives restarts.

Each save writes a temporary file beside the journal, fsyncs it, renames it over the journal and
fsyncs the directory: a crash at any moment leaves either the old or the new journal, never half
of one. A booking is saved before its first attempt, so every attempt, in this run or after a
restart, goes out under the id saved with it.
"""

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from makerbus_device.errors import DeviceError

VERSION = 1


class JournalError(DeviceError):
    """The journal file exists but cannot be read: it is left untouched for the staff."""


@dataclass(eq=False)  # two equal coins are two bookings
class Booking:
    """One coin or note to book: ``bank/topup`` or ``bank/donate`` with its fields and id."""

    op: str
    fields: dict[str, object]
    request_id: str
    needs_staff: str | None = None
    """Why the server refused it for good; such a booking is not sent again."""
    instead_of: str | None = None
    """For a donation that replaces a refused top-up: why the top-up was refused."""
    attempts: int = 0
    due: float = 0.0
    """When to try again (monotonic clock; not saved: after a restart it is due at once)."""

    @property
    def amount_cents(self) -> int:
        amount = self.fields.get("amount_cents")
        return amount if isinstance(amount, int) and not isinstance(amount, bool) else 0

    def to_json(self) -> dict[str, object]:
        return {
            "op": self.op,
            "fields": self.fields,
            "id": self.request_id,
            "needs_staff": self.needs_staff,
            "instead_of": self.instead_of,
        }

    @classmethod
    def from_json(cls, data: object) -> "Booking":
        if not isinstance(data, dict):
            raise JournalError(f"a booking is not a JSON object: {data!r}")
        op, fields, request_id = data.get("op"), data.get("fields"), data.get("id")
        needs_staff, instead_of = data.get("needs_staff"), data.get("instead_of")
        if not (
            isinstance(op, str)
            and isinstance(fields, dict)
            and isinstance(request_id, str)
            and isinstance(needs_staff, str | None)
            and isinstance(instead_of, str | None)
        ):
            raise JournalError(f"not a booking: {data!r}")
        return cls(op, fields, request_id, needs_staff=needs_staff, instead_of=instead_of)


class CashJournal:
    """The bookings the server has not confirmed, in the file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Booking]:
        """The saved bookings, oldest first; none when there is no journal yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise JournalError(f"cannot read the cash journal {self.path}: {exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise JournalError(f"the cash journal {self.path} is not JSON: {exc}") from exc
        listed = data.get("bookings") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("version") != VERSION
            or not isinstance(listed, list)
        ):
            raise JournalError(f"the cash journal {self.path} is not a version {VERSION} journal")
        return [Booking.from_json(item) for item in listed]

    def save(self, bookings: Iterable[Booking]) -> None:
        """Replace the journal with ``bookings``, atomically; OSError if the disk refuses."""
        body = {"version": VERSION, "bookings": [booking.to_json() for booking in bookings]}
        text = json.dumps(body, ensure_ascii=False, indent=1) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with temporary.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        _fsync_directory(self.path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (a power cut could otherwise undo it)."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
