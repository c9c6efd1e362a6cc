"""Console drivers: every input of a reference program as lines typed on one text stream.

``scan 4006381333931``, ``tap 04A1B2C3``, ``coin 200``: each line becomes one event of one
input. The next line is read only once the program has taken the previous event, so the program
sees the lines in the order they were typed, whichever inputs they belong to.
"""

import re
import sys
import threading
from collections.abc import Callable, Mapping
from typing import NamedTuple, TextIO, TypeVar

from makerbus_device.peripherals import Choice, Feed, Key, Payout, Transfer

UID_RE = re.compile(r"[0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20}")
EAN_RE = re.compile(r"[0-9]{8,14}")
TID_RE = re.compile(r"[0-9A-F]{8,64}")
PIN_RE = re.compile(r"[0-9]{4,8}")
TARGET_RE = re.compile(r"[a-z0-9-]{2,40}")

T = TypeVar("T")


def card_uid(text: str) -> str:
    uid = text.upper()
    if not UID_RE.fullmatch(uid):
        raise ValueError(f"{text!r} is not a card UID (8, 14 or 20 hex digits)")
    return uid


def ean(text: str) -> str:
    if not EAN_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not an EAN (8 to 14 digits)")
    return text


def tid(text: str) -> str:
    value = text.upper()
    if not TID_RE.fullmatch(value):
        raise ValueError(f"{text!r} is not a tag TID (8 to 64 hex digits)")
    return value


def cents(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{text!r} is not an amount in cents (a whole number above 0)")
    return int(text)


def pin(text: str) -> str:
    if not PIN_RE.fullmatch(text):
        raise ValueError("a PIN is 4 to 8 digits")  # never repeat what was typed
    return text


def target(text: str) -> str:
    if not TARGET_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a cash box slug")
    return text


class Verb(NamedTuple):
    """One console command: ``usage`` like ``"scan EAN"`` and how its words become an event."""

    usage: str
    deliver: Callable[[list[str], threading.Event], None]
    """Parse the words after the verb (ValueError: they do not parse) and hand the event over,
    waiting until the program took it or the event (``closed``) is set."""

    @property
    def arity(self) -> int:
        return len(self.usage.split()) - 1


def verb(usage: str, feed: Feed[T], parse: Callable[[list[str]], T]) -> Verb:
    """A verb whose words ``parse`` turns into an event for ``feed``."""

    def deliver(words: list[str], closed: threading.Event) -> None:
        feed.put_and_wait(parse(words), closed)

    return Verb(usage, deliver)


def _write_stderr(text: str) -> None:
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()


class ConsoleInput:
    """Reads a text stream (default: stdin) on a daemon thread and hands each line to its verb.

    A line whose verb is unknown or whose words do not parse goes to ``complain`` (default:
    stderr) and is skipped. After the last line, ``on_eof`` is called once the program has
    taken that line's event (e.g. to stop the program at Ctrl-D or at the end of a script).
    """

    def __init__(
        self,
        verbs: Mapping[str, Verb],
        stream: TextIO | None = None,
        *,
        on_eof: Callable[[], None] | None = None,
        complain: Callable[[str], None] | None = None,
    ) -> None:
        self._verbs = dict(verbs)
        self._stream = sys.stdin if stream is None else stream
        self._on_eof = on_eof
        self._complain = _write_stderr if complain is None else complain
        self.closed = threading.Event()
        """Set it to stop handing lines over (the program has stopped reading)."""
        threading.Thread(target=self._pump, name="console-input", daemon=True).start()

    @property
    def usage(self) -> str:
        return ", ".join(verb.usage for verb in self._verbs.values())

    def _pump(self) -> None:
        for line in self._stream:
            if self.closed.is_set():
                return
            words = line.split()
            if words:
                self._take(words)
        if self._on_eof is not None and not self.closed.is_set():
            self._on_eof()

    def _take(self, words: list[str]) -> None:
        verb = self._verbs.get(words[0].lower())
        if verb is None:  # not echoed: it may be a PIN typed without "pin"
            self._complain(f"unknown command; use: {self.usage}")
        elif len(words) - 1 != verb.arity:
            self._complain(f"usage: {verb.usage}")
        else:
            try:
                verb.deliver(words[1:], self.closed)
            except ValueError as exc:
                self._complain(str(exc))


def _key(key: Key) -> Callable[[list[str]], Choice]:
    return lambda _: key


class CheckoutConsole:
    """The checkout's scanner, card reader and keys: ``scan EAN``, ``tap UID``, ``link``,
    ``clear``."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        on_eof: Callable[[], None] | None = None,
        complain: Callable[[str], None] | None = None,
    ) -> None:
        self.scanner: Feed[str] = Feed()
        self.reader: Feed[str] = Feed()
        self.keypad: Feed[Choice] = Feed()
        verbs = {
            "scan": verb("scan EAN", self.scanner, lambda words: ean(words[0])),
            "tap": verb("tap UID", self.reader, lambda words: card_uid(words[0])),
            "link": verb("link", self.keypad, _key(Key.LINK)),
            "clear": verb("clear", self.keypad, _key(Key.CLEAR)),
        }
        self.input = ConsoleInput(verbs, stream, on_eof=on_eof, complain=complain)


class BankomatConsole:
    """The Bankomat's card reader, cash acceptor, PIN pad and menu: ``tap UID``, ``coin CENTS``,
    ``note CENTS``, ``transfer UID CENTS``, ``payout TARGET CENTS``, ``pin DIGITS``,
    ``history``, ``done``."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        on_eof: Callable[[], None] | None = None,
        complain: Callable[[str], None] | None = None,
    ) -> None:
        self.reader: Feed[str] = Feed()
        self.cash: Feed[int] = Feed()
        self.pinpad: Feed[str] = Feed()
        self.keypad: Feed[Choice] = Feed()
        verbs = {
            "tap": verb("tap UID", self.reader, lambda words: card_uid(words[0])),
            "coin": verb("coin CENTS", self.cash, lambda words: cents(words[0])),
            "note": verb("note CENTS", self.cash, lambda words: cents(words[0])),
            "transfer": verb("transfer UID CENTS", self.keypad, _transfer),
            "payout": verb("payout TARGET CENTS", self.keypad, _payout),
            "pin": verb("pin DIGITS", self.pinpad, lambda words: pin(words[0])),
            "history": verb("history", self.keypad, _key(Key.HISTORY)),
            "done": verb("done", self.keypad, _key(Key.DONE)),
        }
        self.input = ConsoleInput(verbs, stream, on_eof=on_eof, complain=complain)


def _transfer(words: list[str]) -> Choice:
    return Transfer(to_card=card_uid(words[0]), amount_cents=cents(words[1]))


def _payout(words: list[str]) -> Choice:
    return Payout(target=target(words[0]), amount_cents=cents(words[1]))


class RentalConsole:
    """The rental station's tag reader and card reader: ``tid TID``, ``tap UID``."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        on_eof: Callable[[], None] | None = None,
        complain: Callable[[str], None] | None = None,
    ) -> None:
        self.tags: Feed[str] = Feed()
        self.reader: Feed[str] = Feed()
        verbs = {
            "tid": verb("tid TID", self.tags, lambda words: tid(words[0])),
            "tap": verb("tap UID", self.reader, lambda words: card_uid(words[0])),
        }
        self.input = ConsoleInput(verbs, stream, on_eof=on_eof, complain=complain)
