"""The reference rental station: hold an item's tag to the reader, then tap a card to rent it.

An item that is out is returned by holding its tag to any station. An item that is in waits
``tap_wait_s`` for a card; without one the station just shows the item.

A UHF reader reports a tag over and over while it stays in the field. A TID seen again within
``tag_quiet_s`` of its last sighting is the same presentation, not a new one: otherwise the
item a member just rented, still in front of the antenna, would be returned at once.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from makerbus_device.errors import DeviceError
from makerbus_device.hardware import CardReader
from makerbus_device.peripherals import TagReader
from makerbus_device.terminal import (
    Asker,
    Refused,
    ServerLink,
    duration,
    int_of,
    log_display,
    str_of,
    unreachable,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Offered:
    """An item that is in, waiting for a card tap."""

    tid: str
    name: str
    until: float


class RentalStation:
    """Drives one rental station: ``step()`` in a loop (or just ``run()``)."""

    def __init__(
        self,
        client: ServerLink,
        tags: TagReader,
        reader: CardReader,
        *,
        display: Callable[[str], None] = log_display,
        monotonic: Callable[[], float] = time.monotonic,
        request_timeout: float = 5.0,
        retries: int = 2,
        tap_wait_s: float = 15.0,
        tag_quiet_s: float = 3.0,
    ) -> None:
        self._tags = tags
        self._reader = reader
        self._display = display
        self._monotonic = monotonic
        self._asker = Asker(client, timeout=request_timeout, retries=retries, monotonic=monotonic)
        self._tap_wait_s = tap_wait_s
        self._tag_quiet_s = tag_quiet_s
        self._offered: Offered | None = None
        self._last_seen: dict[str, float] = {}

    @property
    def offered(self) -> Offered | None:
        """The item waiting for a card tap, if any."""
        return self._offered

    def run(self, stop: threading.Event) -> None:
        """``step()`` until ``stop`` is set."""
        while not stop.is_set():
            self.step()

    def step(self, poll_s: float = 0.1) -> None:
        """Handle a tag or a card tap (waiting up to ``poll_s`` for one).

        The offer's timeout is judged first, as of the moment the input came: a card tapped
        after the offer ended rents nothing.
        """
        tid = self._tags.read(0)
        card = None if tid is not None else self._reader.read(poll_s)
        now = self._monotonic()
        if self._offered is not None and now > self._offered.until:
            self._display(f"{self._offered.name}: not rented (no card was tapped)")
            self._offered = None
        if tid is not None:
            self._seen(tid.upper())
        elif card is not None:
            self._tap(card.upper())

    def _seen(self, tid: str) -> None:
        now = self._monotonic()
        last = self._last_seen.get(tid)
        self._last_seen = {
            t: at for t, at in self._last_seen.items() if now - at < self._tag_quiet_s
        }
        self._last_seen[tid] = now
        if last is not None and now - last < self._tag_quiet_s:
            return  # the same presentation, still in the field
        self._offered = None
        try:
            status = self._asker.ask("rental/status", tid=tid)
            name = str_of(status, "name")
        except Refused as exc:
            self._display(f"{tid}: {'unknown item' if exc.code == 'unknown_item' else exc.message}")
            return
        except DeviceError as exc:
            self._display(unreachable(exc))
            return
        if status.fields.get("out") is True:
            self._return(tid, name)
            return
        description = status.fields.get("description")
        about = f" ({description})" if isinstance(description, str) and description else ""
        self._offered = Offered(tid, name, now + self._tap_wait_s)
        self._display(
            f"{name}{about} is here: tap your card within "
            f"{duration(round(self._tap_wait_s))} to rent it"
        )

    def _return(self, tid: str, name: str) -> None:
        try:
            returned = self._asker.ask("rental/return", tid=tid)
            duration_s = int_of(returned, "duration_s")
        except Refused as exc:
            self._display(f"{name}: {exc.message}")
            return
        except DeviceError as exc:
            self._display(f"{name} not returned: {unreachable(exc)}")
            return
        self._display(f"{name} returned after {duration(duration_s)}: thank you")

    def _tap(self, card: str) -> None:
        offered, self._offered = self._offered, None
        if offered is None:
            self._display("hold the item to the reader first, then tap your card")
            return
        try:
            self._asker.ask("rental/rent", card=card, tid=offered.tid)
        except Refused as exc:
            self._display(f"{offered.name} not rented: {_rent_refusal(exc)}")
            return
        except DeviceError as exc:
            # It may have been rented: the same tap again resends the same request.
            self._offered = Offered(offered.tid, offered.name, self._monotonic() + self._tap_wait_s)
            self._display(f"{offered.name} not confirmed: {unreachable(exc)}; tap again")
            return
        self._display(f"{offered.name} is yours: bring it back to any station")


def _rent_refusal(exc: Refused) -> str:
    if exc.code == "not_authorized":
        return "you have no rental permission; ask the staff"
    if exc.code == "item_rented":
        return "it is rented out already"
    if exc.code == "item_reserved":
        return f"reserved for a project{_until(exc.str_field('until'))}"
    if exc.code == "unknown_card":
        return "this card is not registered"
    if exc.code == "card_blocked":
        return "this card is blocked"
    return exc.message


def _until(moment: str | None) -> str:
    """``" until 2026-11-21 18:00 UTC"`` from the RFC 3339 ``until`` the server sends."""
    if moment is None or len(moment) < 16:
        return ""
    return f" until {moment[:10]} {moment[11:16]} UTC"
