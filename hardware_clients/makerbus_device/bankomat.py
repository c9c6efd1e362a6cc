"""The reference Bankomat: top up with coins and notes, donate, transfer, payout, history.

A card tap selects the member. Cash inserted while a member is selected is a top-up of that
member, booked to the cash box (the default target); without a member it is a donation to the
box. The selection ends after ``idle_s`` without activity, so the next person's coins never go
to the previous member. Cash is in the machine once taken: each booking is saved in the cash
journal before it is sent and sent again, under the same request id, until the server books it
(see cash_book.py); what is pending is shown on the display.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from makerbus_device.answer import Answer
from makerbus_device.cash_book import DEFAULT_BACKOFF, Backoff, CashBook
from makerbus_device.cash_journal import Booking, CashJournal
from makerbus_device.errors import DeviceError
from makerbus_device.hardware import CardReader
from makerbus_device.peripherals import CashAcceptor, Choice, Key, Keypad, Payout, PinPad, Transfer
from makerbus_device.terminal import (
    Asker,
    Refused,
    ServerLink,
    fetch_currency,
    int_of,
    log_display,
    money,
    str_of,
    unreachable,
)

logger = logging.getLogger(__name__)

HISTORY_LINES = 10


@dataclass
class Selected:
    """The member whose card was tapped last."""

    card: str
    name: str
    balance_cents: int


@dataclass(frozen=True)
class _WaitingForPin:
    card: str
    payout: Payout
    until: float


class Bankomat:
    """Drives one Bankomat: ``start()`` once, then ``step()`` in a loop (or just ``run()``)."""

    def __init__(
        self,
        client: ServerLink,
        reader: CardReader,
        cash: CashAcceptor,
        pinpad: PinPad,
        keypad: Keypad | None = None,
        *,
        display: Callable[[str], None] = log_display,
        monotonic: Callable[[], float] = time.monotonic,
        target: str | None = None,
        request_timeout: float = 5.0,
        retries: int = 2,
        idle_s: float = 60.0,
        pin_wait_s: float = 30.0,
        journal: CashJournal | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        """``target``: the cash box that cash is booked to (default: the first the server
        lists). ``journal``: where cash not booked yet is kept across restarts (without one it
        is lost on exit). PINs go to the server only: never displayed, never logged."""
        self._reader = reader
        self._cash = cash
        self._pinpad = pinpad
        self._keypad = keypad
        self._display = display
        self._monotonic = monotonic
        self._asker = Asker(client, timeout=request_timeout, retries=retries, monotonic=monotonic)
        self._configured_target = target
        self._idle_s = idle_s
        self._pin_wait_s = pin_wait_s
        self._currency = ""
        self._target: str | None = None
        self._selected: Selected | None = None
        self._last_activity = monotonic()
        self._waiting: _WaitingForPin | None = None
        self._cash_book = CashBook(
            self._asker,
            display=display,
            money=self._money,
            booked=self._booked,
            journal=journal,
            backoff=backoff,
        )

    @property
    def selected(self) -> Selected | None:
        return self._selected

    @property
    def target(self) -> str | None:
        """The cash box that cash is booked to, once known."""
        return self._target

    @property
    def unbooked(self) -> list[Booking]:
        """Cash taken in whose booking the server has not confirmed yet."""
        return self._cash_book.unbooked

    @property
    def needs_staff(self) -> list[Booking]:
        """Cash taken in that the server refused for good: the staff must book it by hand."""
        return self._cash_book.needs_staff

    def start(self) -> None:
        """Learn the currency and the cash box to book to; take over the journal's bookings.

        JournalError when the journal cannot be read (it is left as it is).
        """
        self._currency = fetch_currency(self._asker)
        self._find_target()
        self._cash_book.load()

    def run(self, stop: threading.Event) -> None:
        """``start()``, then ``step()`` until ``stop`` is set."""
        self.start()
        try:
            while not stop.is_set():
                self.step()
        finally:
            self._cash_book.report()

    def step(self, poll_s: float = 0.1) -> None:
        """Handle one input (waiting up to ``poll_s`` for one), then one due re-booking.

        Timeouts are judged first, as of the moment the input came: a coin inserted after the
        member's turn ended is a donation, not a top-up of that member. One re-booking a step
        keeps the machine responsive while the server is away (each attempt may wait for it).
        """
        handle = self._next_input(poll_s)
        self._expire(self._monotonic())
        if handle is not None:
            handle()
        now = self._monotonic()
        for booking in self._cash_book.due(now)[:1]:
            self._cash_book.book(booking, now)

    def _next_input(self, poll_s: float) -> Callable[[], None] | None:
        if (pin := self._pinpad.read(0)) is not None:
            return partial(self._pin, pin)
        if (cents := self._cash.read(0)) is not None:
            return partial(self._insert, cents)
        if self._keypad is not None and (choice := self._keypad.read(0)) is not None:
            return partial(self._choose, choice)
        if (card := self._reader.read(poll_s)) is not None:
            return partial(self._tap, card.upper())
        return None

    # -- card and cash -----------------------------------------------------------------------

    def _tap(self, card: str) -> None:
        self._last_activity = self._monotonic()
        self._selected = self._waiting = None
        try:
            member = self._asker.ask("card/identify", card=card)
            name, balance = str_of(member, "name"), int_of(member, "balance_cents")
        except Refused as exc:
            if exc.code == "unknown_card":
                self._display("this card is not registered: register it at the checkout")
            else:
                self._display(exc.message)
            return
        except DeviceError as exc:
            self._display(unreachable(exc))
            return
        self._selected = Selected(card, name, balance)
        self._display(
            f"hello {name}: balance {self._money(balance)}; insert coins or notes to top up"
        )

    def _insert(self, cents: int) -> None:
        self._last_activity = now = self._monotonic()
        target = self._target or self._find_target()
        member = self._selected
        fields: dict[str, object] = {"amount_cents": cents, "target": target}
        op = "bank/donate"
        if member is not None:
            op, fields = "bank/topup", {"card": member.card, **fields}
        if target is None:
            self._cash_book.keep_for_staff(op, fields, "no cash box known")
            return
        self._cash_book.book(self._cash_book.take(op, fields), now)

    def _booked(self, booking: Booking, answer: Answer) -> None:
        amount, card = self._money(booking.amount_cents), booking.fields.get("card")
        member, balance = self._selected, answer.fields.get("balance_cents")
        if booking.instead_of is not None:
            self._display(f"{amount} booked to the cash box as a donation")
        elif booking.op == "bank/donate":
            self._display(f"thank you for donating {amount}")
        elif member is None or member.card != card:  # booked late, after the member left
            self._display(f"topped up {amount} for card {card}")
        elif isinstance(balance, int):
            member.balance_cents = balance
            self._display(f"topped up {amount}: balance {self._money(balance)}")

    # -- menu and PIN --------------------------------------------------------------------------

    def _choose(self, choice: Choice) -> None:
        self._last_activity = self._monotonic()
        member = self._selected
        if choice == Key.DONE:
            self._selected = self._waiting = None
            self._display("goodbye" if member is None else f"goodbye, {member.name}")
        elif member is None:
            self._display("tap your card first")
        elif choice == Key.HISTORY:
            self._history(member)
        elif isinstance(choice, Transfer):
            self._transfer(member, choice)
        elif isinstance(choice, Payout):
            self._waiting = _WaitingForPin(
                member.card, choice, self._last_activity + self._pin_wait_s
            )
            self._display(
                f"payout of {self._money(choice.amount_cents)} from {choice.target}: "
                "enter your PIN on the PIN pad"
            )
        else:
            self._display("not available at the Bankomat")

    def _history(self, member: Selected) -> None:
        try:
            answer = self._asker.ask("bank/history", card=member.card, limit=HISTORY_LINES)
        except DeviceError as exc:
            self._display(exc.message if isinstance(exc, Refused) else unreachable(exc))
            return
        lines = answer.fields.get("lines")
        if not isinstance(lines, list) or not lines:
            self._display("no bookings yet")
            return
        for line in lines:
            if isinstance(line, dict):
                self._display(self._history_line(line))

    def _history_line(self, line: dict[str, object]) -> str:
        at, kind = line.get("at"), line.get("kind")
        amount, after = line.get("amount_cents"), line.get("balance_after_cents")
        if not (isinstance(amount, int) and isinstance(after, int)):
            return f"{at} {kind}"
        when = str(at)[:16].replace("T", " ")
        return f"{when}  {kind}  {self._money(amount)}  balance {self._money(after)}"

    def _transfer(self, member: Selected, transfer: Transfer) -> None:
        try:
            answer = self._asker.ask(
                "bank/transfer",
                card=member.card,
                to_card=transfer.to_card,
                amount_cents=transfer.amount_cents,
            )
            member.balance_cents = int_of(answer, "balance_cents")
        except Refused as exc:
            self._display(f"not sent: {self._refusal(exc)}")
            return
        except DeviceError as exc:
            self._display(f"not confirmed: {unreachable(exc)} (nothing is sent twice)")
            return
        self._display(
            f"sent {self._money(transfer.amount_cents)} to card {transfer.to_card}: "
            f"balance {self._money(member.balance_cents)}"
        )

    def _pin(self, pin: str) -> None:
        self._last_activity = self._monotonic()
        waiting, self._waiting = self._waiting, None
        if waiting is None:
            self._display("no payout is waiting for a PIN")
            return
        payout = waiting.payout
        try:
            answer = self._asker.ask(
                "bank/payout",
                card=waiting.card,
                pin=pin,
                target=payout.target,
                amount_cents=payout.amount_cents,
            )
            box_balance = int_of(answer, "target_balance_cents")
        except Refused as exc:
            self._display(f"no payout: {self._refusal(exc)}")
            return
        except DeviceError as exc:
            self._display(f"payout not confirmed: {unreachable(exc)}")
            return
        self._display(
            f"take {self._money(payout.amount_cents)} out of {payout.target}: "
            f"{self._money(box_balance)} left in it"
        )

    # -- helpers -------------------------------------------------------------------------------

    def _find_target(self) -> str | None:
        try:
            answer = self._asker.ask("bank/targets")
        except DeviceError as exc:
            logger.warning("no cash boxes from bank/targets: %s", exc)
            # The configured box is trusted until the server can say otherwise (unknown_target).
            self._target = self._configured_target
            return self._target
        listed = answer.fields.get("targets")
        slugs = [
            t["slug"]
            for t in (listed if isinstance(listed, list) else [])
            if isinstance(t, dict) and isinstance(t.get("slug"), str)
        ]
        wanted = self._configured_target
        if wanted is not None and wanted not in slugs:
            logger.error("cash box %r is not one of %s", wanted, slugs)
            self._display(f"cash box {wanted} does not exist: cash cannot be booked")
            return None
        self._target = wanted if wanted is not None else (slugs[0] if slugs else None)
        return self._target

    def _expire(self, now: float) -> None:
        if self._waiting is not None and now > self._waiting.until:
            self._waiting = None
            self._display("payout cancelled: no PIN was entered")
        if self._selected is not None and now - self._last_activity > self._idle_s:
            self._display(f"goodbye, {self._selected.name}")
            self._selected = self._waiting = None

    def _refusal(self, exc: Refused) -> str:
        if exc.code == "insufficient_funds":
            balance, needed = exc.int_field("balance_cents"), exc.int_field("needed_cents")
            if balance is not None and needed is not None:
                return f"{self._money(needed)} needed, balance {self._money(balance)}"
        if exc.code == "pin_invalid":
            return f"wrong PIN, {exc.int_field('attempts_left')} attempts left"
        if exc.code == "pin_locked":
            return f"the PIN is locked until {exc.str_field('locked_until')}"
        if exc.code == "pin_required":
            return "payouts need a treasurer's card with a PIN"
        return exc.message

    def _money(self, cents: int) -> str:
        return money(cents, self._currency)
