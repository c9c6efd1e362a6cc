"""The cash a Bankomat took in, booked exactly once.

Cash is in the machine once taken, whether or not the server heard of it. A booking that got no
answer is kept and sent again, under the id of its first attempt, until the server answers: the
server then books it once, or replays the answer it already gave.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from makerbus_device.answer import Answer
from makerbus_device.errors import DeviceError, RequestTimeout
from makerbus_device.terminal import Asker, Refused, unreachable

logger = logging.getLogger(__name__)


@dataclass(eq=False)  # two equal coins are two bookings
class Booking:
    """One coin or note to book: ``bank/topup`` or ``bank/donate`` with its fields."""

    op: str
    fields: dict[str, object]
    request_id: str | None = None
    """The id of the unanswered attempt, which every later attempt reuses."""
    due: float = 0.0
    """When to try again (monotonic clock)."""

    @property
    def amount_cents(self) -> int:
        amount = self.fields.get("amount_cents")
        return amount if isinstance(amount, int) else 0


class CashBook:
    """Sends bookings and keeps those that did not get through."""

    def __init__(
        self,
        asker: Asker,
        *,
        display: Callable[[str], None],
        money: Callable[[int], str],
        retry_after_s: float = 10.0,
    ) -> None:
        self._asker = asker
        self._display = display
        self._money = money
        self._retry_after_s = retry_after_s
        self._unbooked: list[Booking] = []

    @property
    def unbooked(self) -> list[Booking]:
        """Cash taken in whose booking the server has not confirmed yet, oldest first."""
        return list(self._unbooked)

    def book(self, booking: Booking, now: float) -> Answer | None:
        """The server's ok answer; None when the booking is kept for later or was refused."""
        amount = self._money(booking.amount_cents)
        try:
            answer = self._asker.ask_as(booking.op, booking.request_id, **booking.fields)
        except Refused as exc:
            self._forget(booking)
            logger.error("%s %s refused: %s", booking.op, booking.fields, exc)
            self._display(f"{amount} taken but not booked ({exc.message}): please tell the staff")
            return None
        except DeviceError as exc:
            if isinstance(exc, RequestTimeout):
                booking.request_id = exc.request_id
            booking.due = now + self._retry_after_s
            if booking not in self._unbooked:
                self._unbooked.append(booking)
            self._display(f"{amount} taken: {unreachable(exc)}; it is booked once it answers")
            return None
        self._forget(booking)
        logger.info("%s %s: %s", booking.op, booking.fields, answer.fields)
        return answer

    def due(self, now: float) -> list[Booking]:
        """The kept bookings whose next attempt is due."""
        return [booking for booking in self._unbooked if booking.due <= now]

    def report(self) -> None:
        """Say what is still not booked (at shutdown): staff must book it by hand."""
        for booking in self._unbooked:
            logger.error(
                "not booked: %s %s (request id %s)", booking.op, booking.fields, booking.request_id
            )
            self._display(
                f"{self._money(booking.amount_cents)} taken but not booked: please tell the staff"
            )

    def _forget(self, booking: Booking) -> None:
        if booking in self._unbooked:
            self._unbooked.remove(booking)
