"""The inputs of the checkout terminal, Bankomat and rental station, with simulated drivers.

Each input is a small interface with ``read(timeout)``, like ``CardReader``: a real barcode
scanner, coin validator, PIN pad or UHF reader is a class of a few lines that returns what the
device reported. The console drivers (one text stream for all inputs of a program) are in
``makerbus_device.console``.
"""

import threading
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class BarcodeScanner(Protocol):
    """Where product codes come from."""

    def read(self, timeout: float) -> str | None:
        """The next scanned EAN, or None when nothing was scanned within ``timeout`` seconds."""
        ...


class CashAcceptor(Protocol):
    """A coin validator or note reader; what it took is in the machine, whatever comes next."""

    def read(self, timeout: float) -> int | None:
        """Cents of the next coin or note taken in, or None when none came within ``timeout``."""
        ...


class PinPad(Protocol):
    """Where PINs are entered. Drivers must not echo or log the digits."""

    def read(self, timeout: float) -> str | None:
        """The next PIN entered (digits, confirmed with Enter), or None."""
        ...


class TagReader(Protocol):
    """A UHF RFID reader; it may report a tag many times while the tag stays in its field."""

    def read(self, timeout: float) -> str | None:
        """The TID of the next tag seen (hex), or None."""
        ...


class Key(StrEnum):
    """The plain buttons of a terminal."""

    LINK = "link"
    """Checkout: show the self-service link for the next card tapped."""
    CLEAR = "clear"
    """Checkout: empty the basket."""
    HISTORY = "history"
    """Bankomat: the selected member's recent bookings."""
    DONE = "done"
    """Bankomat: end the selected member's turn."""


@dataclass(frozen=True)
class Transfer:
    """Bankomat: send money from the selected member to another member's card."""

    to_card: str
    amount_cents: int


@dataclass(frozen=True)
class Payout:
    """Bankomat: a treasurer takes cash out of a cash box (needs the PIN)."""

    target: str
    amount_cents: int


Choice = Key | Transfer | Payout
"""What the keypad or menu of a terminal reports."""


class Keypad(Protocol):
    """The buttons or menu of a terminal."""

    def read(self, timeout: float) -> Choice | None:
        """The next choice made, or None when none came within ``timeout`` seconds."""
        ...


class Feed(Generic[T]):
    """A thread-safe queue of input events that a program reads with ``read(timeout)``."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._items: deque[T] = deque()

    def put(self, item: T) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def read(self, timeout: float) -> T | None:
        """The oldest item, waiting up to ``timeout`` seconds for one; None if none came."""
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._items), max(0.0, timeout)):
                return None
            item = self._items.popleft()
            self._changed.notify_all()
            return item

    def put_and_wait(self, item: T, stop: threading.Event | None = None) -> None:
        """Put ``item`` and wait until the program has read it, or ``stop`` is set."""
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()
            while self._items and not (stop is not None and stop.is_set()):
                self._changed.wait(0.1)


class SimulatedScanner(Feed[str]):
    """A barcode scanner that a test or script scans codes on."""

    def scan(self, ean: str) -> None:
        self.put(ean)


class SimulatedCashAcceptor(Feed[int]):
    """A cash acceptor that a test inserts coins and notes into."""

    def insert(self, cents: int) -> None:
        self.put(cents)


class SimulatedPinPad(Feed[str]):
    """A PIN pad that a test enters PINs on."""

    def enter(self, pin: str) -> None:
        self.put(pin)


class SimulatedTagReader(Feed[str]):
    """A UHF reader that a test holds tags to."""

    def see(self, tid: str) -> None:
        self.put(tid)


class SimulatedKeypad(Feed[Choice]):
    """Buttons that a test presses."""

    def press(self, choice: Choice) -> None:
        self.put(choice)
