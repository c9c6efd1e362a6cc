"""The reference checkout terminal: scan products into a basket, tap a card to pay.

It is also where cards come into the system: an unknown card tapped twice within
``register_window_s`` is registered, and the terminal shows the self-service link with which the
member connects the card to a web account (also later: press *link*, then tap).
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from makerbus_device.errors import DeviceError
from makerbus_device.hardware import CardReader
from makerbus_device.peripherals import BarcodeScanner, Choice, Key, Keypad
from makerbus_device.terminal import (
    Asker,
    Refused,
    ServerLink,
    duration,
    fetch_currency,
    int_of,
    log_display,
    money,
    str_of,
    unreachable,
)

logger = logging.getLogger(__name__)

MAX_LINES = 50
MAX_QTY = 99


@dataclass
class BasketLine:
    """One product in the basket."""

    ean: str
    """The product's primary EAN (an alias scanned resolves to it)."""
    name: str
    price_cents: int
    qty: int


@dataclass(frozen=True)
class _Tapped:
    card: str
    at: float


class CheckoutTerminal:
    """Drives one checkout: ``start()`` once, then ``step()`` in a loop (or just ``run()``)."""

    def __init__(
        self,
        client: ServerLink,
        scanner: BarcodeScanner,
        reader: CardReader,
        keypad: Keypad | None = None,
        *,
        display: Callable[[str], None] = log_display,
        monotonic: Callable[[], float] = time.monotonic,
        request_timeout: float = 5.0,
        retries: int = 2,
        register_window_s: float = 20.0,
        link_wait_s: float = 20.0,
        basket_idle_s: float = 180.0,
    ) -> None:
        """``display`` shows a line to the member; an untouched basket is emptied after
        ``basket_idle_s``, so the next member does not pay for it."""
        self._scanner = scanner
        self._reader = reader
        self._keypad = keypad
        self._display = display
        self._monotonic = monotonic
        self._asker = Asker(client, timeout=request_timeout, retries=retries, monotonic=monotonic)
        self._register_window_s = register_window_s
        self._link_wait_s = link_wait_s
        self._basket_idle_s = basket_idle_s
        self._currency = ""
        self._basket: dict[str, BasketLine] = {}
        self._last_activity = monotonic()
        self._unknown_tap: _Tapped | None = None
        self._link_pressed_at: float | None = None

    @property
    def basket(self) -> list[BasketLine]:
        """The basket's lines in the order they were first scanned (copies)."""
        return [BasketLine(**vars(line)) for line in self._basket.values()]

    @property
    def total_cents(self) -> int:
        return sum(line.price_cents * line.qty for line in self._basket.values())

    def start(self) -> None:
        """Learn the currency to show amounts in."""
        self._currency = fetch_currency(self._asker)

    def run(self, stop: threading.Event) -> None:
        """``start()``, then ``step()`` until ``stop`` is set."""
        self.start()
        while not stop.is_set():
            self.step()

    def step(self, poll_s: float = 0.1) -> None:
        """Handle one key press, scan or card tap (waiting up to ``poll_s`` for one).

        Timeouts are judged first, as of the moment the input came: a card tapped after the
        basket was given up does not pay for it.
        """
        handle = self._next_input(poll_s)
        self._expire(self._monotonic())
        if handle is not None:
            handle()

    def _next_input(self, poll_s: float) -> Callable[[], None] | None:
        if self._keypad is not None and (choice := self._keypad.read(0)) is not None:
            return partial(self._press, choice)
        if (code := self._scanner.read(0)) is not None:
            return partial(self._scan, code)
        if (card := self._reader.read(poll_s)) is not None:
            return partial(self._tap, card.upper())
        return None

    # -- inputs ----------------------------------------------------------------------------------

    def _press(self, choice: Choice) -> None:
        self._last_activity = self._monotonic()
        if choice == Key.CLEAR:
            self._basket.clear()
            self._display("basket cleared")
        elif choice == Key.LINK:
            self._link_pressed_at = self._last_activity
            self._display("tap your card to get the link to your account")
        else:
            self._display("not available at the checkout")

    def _scan(self, ean: str) -> None:
        self._last_activity = self._monotonic()
        try:
            product = self._asker.ask("product/scan", ean=ean)
            primary, name = str_of(product, "ean"), str_of(product, "name")
            price, stock = int_of(product, "price_cents"), int_of(product, "stock")
        except Refused as exc:
            self._display(f"{ean}: {_scan_refusal(exc)}, not added")
            return
        except DeviceError as exc:
            self._display(f"{ean} not added: {unreachable(exc)}")
            return
        line = self._basket.get(primary)
        qty = 1 if line is None else line.qty + 1
        if product.fields.get("allow_negative_stock") is not True and qty > stock:
            self._display(f"{name}: only {stock} in stock, not added")
        elif line is None and len(self._basket) >= MAX_LINES:
            self._display(f"{name} not added: at most {MAX_LINES} products in one basket")
        elif qty > MAX_QTY:
            self._display(f"{name} not added: at most {MAX_QTY} of one product")
        else:
            self._basket[primary] = BasketLine(primary, name, price, qty)
            count = sum(line.qty for line in self._basket.values())
            self._display(
                f"{name} {self._money(price)} | basket: {count} item{'' if count == 1 else 's'}, "
                f"total {self._money(self.total_cents)}"
            )

    def _tap(self, card: str) -> None:
        now = self._last_activity = self._monotonic()
        unknown, self._unknown_tap = self._unknown_tap, None
        if unknown is not None and unknown.card == card:
            self._register(card)
        elif self._link_pressed_at is not None:
            self._link_pressed_at = None
            self._show_link(card, now)
        elif self._basket:
            self._pay(card, now)
        else:
            self._greet(card, now)

    # -- what a tap does -------------------------------------------------------------------------

    def _greet(self, card: str, now: float) -> None:
        try:
            member = self._asker.ask("card/identify", card=card)
            name, balance = str_of(member, "name"), int_of(member, "balance_cents")
        except Refused as exc:
            self._refused_card(exc, card, now)
            return
        except DeviceError as exc:
            self._display(unreachable(exc))
            return
        self._display(f"hello {name}: balance {self._money(balance)}; scan products to buy")

    def _pay(self, card: str, now: float) -> None:
        items = [{"ean": line.ean, "qty": line.qty} for line in self._basket.values()]
        try:
            paid = self._asker.ask("checkout/purchase", card=card, items=items)
            total, balance = int_of(paid, "total_cents"), int_of(paid, "balance_cents")
        except Refused as exc:
            if exc.code in ("unknown_card", "card_blocked"):
                self._refused_card(exc, card, now)
            else:
                self._display(f"not paid: {self._purchase_refusal(exc)}")
            return
        except DeviceError as exc:
            # The purchase may have gone through: the same tap again reuses the request id.
            self._display(f"not confirmed: {unreachable(exc)} (nothing is charged twice)")
            return
        self._basket.clear()
        self._display(f"paid {self._money(total)}: balance {self._money(balance)}")

    def _register(self, card: str) -> None:
        try:
            member = self._asker.ask("card/register", card=card)
            name, member_id = str_of(member, "name"), int_of(member, "member_id")
        except Refused as exc:
            self._display(f"not registered: {exc.message}")
            return
        except DeviceError as exc:
            self._display(f"not registered: {unreachable(exc)}")
            return
        self._display(f"card registered: welcome, {name} (member {member_id})")
        self._show_link(card, self._monotonic())

    def _show_link(self, card: str, now: float) -> None:
        try:
            link = self._asker.ask("card/link", card=card)
            url, expires_s = str_of(link, "url"), int_of(link, "expires_s")
        except Refused as exc:
            if exc.code == "card_linked":
                self._display("this card is already linked to an account")
            else:
                self._refused_card(exc, card, now)
            return
        except DeviceError as exc:
            self._display(f"no link: {unreachable(exc)}")
            return
        self._display(f"link this card to your account within {duration(expires_s)}: {url}")

    def _refused_card(self, exc: Refused, card: str, now: float) -> None:
        if exc.code == "unknown_card":
            self._unknown_tap = _Tapped(card, now)
            self._display(
                f"card {card} is not registered: tap it again within "
                f"{duration(round(self._register_window_s))} to register it"
            )
        elif exc.code == "card_blocked":
            self._display("this card is blocked")
        else:
            self._display(exc.message)

    # -- timeouts and text -----------------------------------------------------------------------

    def _expire(self, now: float) -> None:
        if self._unknown_tap is not None and now - self._unknown_tap.at > self._register_window_s:
            self._unknown_tap = None
            self._display("registration cancelled: the card was not tapped again")
        if self._link_pressed_at is not None and now - self._link_pressed_at > self._link_wait_s:
            self._link_pressed_at = None
            self._display("link cancelled: no card was tapped")
        if self._basket and now - self._last_activity > self._basket_idle_s:
            self._basket.clear()
            self._display("basket cleared: nobody paid for it")

    def _purchase_refusal(self, exc: Refused) -> str:
        ean = exc.str_field("ean")
        line = None if ean is None else self._basket.get(ean)
        what = ean if line is None else line.name
        if exc.code == "insufficient_funds":
            needed, balance = exc.int_field("needed_cents"), exc.int_field("balance_cents")
            if needed is not None and balance is not None:
                return f"{self._money(needed)} needed, balance {self._money(balance)}"
        if exc.code == "out_of_stock":
            return f"only {exc.int_field('stock')} of {what} in stock"
        if exc.code in ("unknown_product", "product_inactive"):
            return f"{what} is not for sale"
        return exc.message

    def _money(self, cents: int) -> str:
        return money(cents, self._currency)


def _scan_refusal(exc: Refused) -> str:
    if exc.code == "unknown_product":
        return "unknown product"
    if exc.code == "product_inactive":
        return "not for sale"
    return exc.message
