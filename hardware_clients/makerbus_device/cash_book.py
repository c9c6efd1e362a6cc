"""The cash a Bankomat took in, booked exactly once, eventually.

Cash is in the machine once taken, whether or not the server heard of it. Each booking gets its
request id before its first attempt and is saved with it in the journal (when there is one); it
is sent again under that id, with a capped, jittered back-off, while the server does not answer
or answers ``unavailable``, ``internal`` or ``rate_limited``. The server books an id once and
replays its answer to every repeat, so a booking repeated after a restart is not booked twice.

A final refusal is not repeated. A top-up refused for its card (``unknown_card``,
``card_blocked``) becomes a donation to the same cash box, so the box's balance still matches
the cash in it and the staff can credit the member by hand; any other refusal keeps the booking
in the journal, marked as needing the staff.
"""

import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count

from makerbus_device.answer import Answer
from makerbus_device.cash_journal import Booking, CashJournal
from makerbus_device.errors import DeviceError
from makerbus_device.terminal import Asker, Refused

logger = logging.getLogger(__name__)

TRANSIENT = frozenset({"unavailable", "internal", "rate_limited"})
"""Error answers that say "try again later", with the same id."""
REFUSED_CARD = frozenset({"unknown_card", "card_blocked"})
"""Refusals of a top-up that the cash box can still take as a donation."""


@dataclass(frozen=True)
class Backoff:
    """The wait before attempt n+1: ``first_s * 2**(n-1)``, at most ``cap_s``, times 0.5-1.

    The jitter keeps Bankomats that lost the server together from coming back in step.
    """

    first_s: float = 2.0
    cap_s: float = 30.0
    jitter: Callable[[], float] = random.random

    def after(self, attempts: int) -> float:
        plain = min(self.cap_s, self.first_s * 2.0 ** max(0, attempts - 1))
        return plain * (0.5 + 0.5 * self.jitter())


DEFAULT_BACKOFF = Backoff()


class CashBook:
    """Sends bookings, keeps (and saves) those not booked yet, and says how many there are."""

    def __init__(
        self,
        asker: Asker,
        *,
        display: Callable[[str], None],
        money: Callable[[int], str],
        booked: Callable[[Booking, Answer], None],
        journal: CashJournal | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        """``booked`` shows a booking the server confirmed (with its answer). Without a
        ``journal``, unbooked cash is kept in memory only and lost on exit."""
        self._asker = asker
        self._display = display
        self._money = money
        self._booked = booked
        self._journal = journal
        self._backoff = backoff
        self._prefix = f"cash-{secrets.token_hex(4)}"  # random per run, like DeviceClient's
        self._counter = count(1)
        self._kept: list[Booking] = []

    @property
    def unbooked(self) -> list[Booking]:
        """Cash taken in that is still to be booked, oldest first."""
        return [booking for booking in self._kept if booking.needs_staff is None]

    @property
    def needs_staff(self) -> list[Booking]:
        """Cash taken in that the server refused for good: the staff must book it by hand."""
        return [booking for booking in self._kept if booking.needs_staff is not None]

    def load(self) -> None:
        """Take over what the journal kept from the last run; all of it is due at once."""
        if self._journal is not None:
            self._kept = self._journal.load()
        for booking in self._kept:
            booking.attempts = 1  # the last run tried (or was about to): these are retries
        if self._kept:
            logger.warning("the cash journal holds %d bookings", len(self._kept))
            self._show_pending()
            self._show_needs_staff()

    def take(self, op: str, fields: dict[str, object]) -> Booking:
        """Record cash just taken in, under a fresh id, before anything is sent."""
        booking = Booking(op, fields, self._new_id())
        self._kept.append(booking)
        self._save()
        return booking

    def keep_for_staff(self, op: str, fields: dict[str, object], reason: str) -> None:
        """Record cash taken in that cannot be booked at all (no cash box is known)."""
        booking = Booking(op, fields, self._new_id(), needs_staff=reason)
        self._kept.append(booking)
        self._save()
        logger.error("%s %s cannot be booked: %s", op, fields, reason)
        self._display(
            f"{self._money(booking.amount_cents)} taken but not booked ({reason}): "
            "please tell the staff"
        )

    def due(self, now: float) -> list[Booking]:
        """The bookings whose next attempt is due."""
        return [booking for booking in self.unbooked if booking.due <= now]

    def book(self, booking: Booking, now: float) -> None:
        """Send ``booking``: booked (and shown), kept for later, or refused."""
        booking.attempts += 1
        try:
            answer = self._asker.ask_as(booking.op, booking.request_id, **booking.fields)
        except Refused as exc:
            if exc.code in TRANSIENT:
                self._later(booking, now, exc)
            else:
                self._refused(booking, exc, now)
            return
        except DeviceError as exc:
            self._later(booking, now, exc)
            return
        self._forget(booking)
        logger.info("%s %s (id %s): %s", booking.op, booking.fields, booking.request_id, answer)
        self._booked(booking, answer)
        if booking.attempts > 1:
            self._show_pending()

    def report(self) -> None:
        """Say what is still not booked (at shutdown)."""
        for booking in self._kept:
            logger.error(
                "not booked: %s %s (request id %s)%s",
                booking.op,
                booking.fields,
                booking.request_id,
                "" if booking.needs_staff is None else f", needs staff: {booking.needs_staff}",
            )
        if self.unbooked and self._journal is not None:
            self._display(
                f"{self._summary(self.unbooked, 'pending')}: kept in {self._journal.path}, "
                "booked at the next start"
            )
        elif self.unbooked:
            self._display(f"{self._summary(self.unbooked, 'not booked')}: please tell the staff")
        self._show_needs_staff()

    def _new_id(self) -> str:
        return f"{self._prefix}-{next(self._counter)}"

    def _later(self, booking: Booking, now: float, exc: DeviceError) -> None:
        wait = self._backoff.after(booking.attempts)
        asked_ms = exc.int_field("retry_after_ms") if isinstance(exc, Refused) else None
        if asked_ms is not None:  # rate_limited says how long to slow down
            wait = max(wait, asked_ms / 1000)
        booking.due = now + wait
        logger.warning(
            "%s (id %s) not booked yet, attempt %d: %s",
            booking.op,
            booking.request_id,
            booking.attempts,
            exc,
        )
        if booking.attempts == 1:
            self._show_pending()

    def _refused(self, booking: Booking, exc: Refused, now: float) -> None:
        logger.error("%s %s refused: %s", booking.op, booking.fields, exc)
        amount = self._money(booking.amount_cents)
        if booking.op == "bank/topup" and exc.code in REFUSED_CARD:
            donation = Booking(
                "bank/donate",
                {"amount_cents": booking.amount_cents, "target": booking.fields.get("target")},
                f"{booking.request_id}.d",  # derived, so a restart repeats the same donation
                instead_of=f"card {booking.fields.get('card')}: {exc.message}",
                attempts=booking.attempts - 1,  # a retry still, if the top-up was one
            )
            self._kept[self._kept.index(booking)] = donation
            self._save()
            self._display(
                f"{amount} cannot go to card {booking.fields.get('card')} ({exc.message}): "
                "it is booked as a donation to the cash box; the staff can credit it to you"
            )
            self.book(donation, now)
            return
        booking.needs_staff = f"{exc.code}: {exc.message}"
        self._save()
        self._display(f"{amount} taken but not booked ({exc.message}): please tell the staff")

    def _forget(self, booking: Booking) -> None:
        if booking in self._kept:
            self._kept.remove(booking)
            self._save()

    def _save(self) -> None:
        if self._journal is None:
            return
        try:
            self._journal.save(self._kept)
        except OSError as exc:
            logger.error("cannot write the cash journal %s: %s", self._journal.path, exc)
            self._display("the cash journal cannot be written: please tell the staff")

    def _show_pending(self) -> None:
        pending = self.unbooked
        if pending:
            self._display(f"{self._summary(pending, 'pending')}, will book when the server is back")
        else:
            self._display("all pending payments are booked")

    def _show_needs_staff(self) -> None:
        if staff := self.needs_staff:
            self._display(f"{self._summary(staff, 'not booked')}: please tell the staff")

    def _summary(self, bookings: list[Booking], state: str) -> str:
        """``2 payments pending (3.50 EUR)``."""
        total = self._money(sum(booking.amount_cents for booking in bookings))
        noun = "payment" if len(bookings) == 1 else "payments"
        return f"{len(bookings)} {noun} {state} ({total})"
