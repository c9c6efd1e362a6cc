"""The reference checkout terminal on the live stack: baskets paid, cards registered and linked.

The terminal runs in-process with simulated scanner, card reader and keys (and once as the
`makerbus-device checkout` console program); the server, broker and database are real.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from makerbus_device import (
    CheckoutTerminal,
    Key,
    SimulatedKeypad,
    SimulatedReader,
    SimulatedScanner,
)
from sqlalchemy import select

from broker.provisioning import Credentials
from core.formats import DeviceKind
from core.models import Product, ProductCode
from makerbus.context import database
from tests.e2e.console import run_program
from tests.e2e.stack import Stack, run_async
from tests.factories import unique_uid


@dataclass
class Till:
    """A started checkout terminal with simulated inputs; ``shown`` is its display."""

    terminal: CheckoutTerminal
    scanner: SimulatedScanner
    reader: SimulatedReader
    keypad: SimulatedKeypad
    shown: list[str]

    def scan(self, ean: str) -> None:
        self.scanner.scan(ean)
        self.terminal.step(poll_s=0)

    def tap(self, card: str) -> None:
        self.reader.tap(card)
        self.terminal.step(poll_s=0)

    def press(self, key: Key) -> None:
        self.keypad.press(key)
        self.terminal.step(poll_s=0)


def till(stack: Stack) -> Till:
    scanner, reader, keypad = SimulatedScanner(), SimulatedReader(), SimulatedKeypad()
    shown: list[str] = []
    client = stack.device(stack.provision(DeviceKind.CHECKOUT))
    terminal = CheckoutTerminal(client, scanner, reader, keypad, display=shown.append)
    terminal.start()
    return Till(terminal, scanner, reader, keypad, shown)


def unique_ean() -> str:
    return str(uuid.uuid4().int)[:13]


def add_product(stack: Stack, *, name: str, price_cents: int, stock: int) -> str:
    """A product added with the real `makerbus product add`; its EAN."""
    ean = unique_ean()
    stack.cli(
        "product", "add", ean, "--name", name, "--price-cents", str(price_cents),
        "--stock", str(stock),
    )  # fmt: skip
    return ean


def stock_of(stack: Stack, ean: str) -> int:
    async def go() -> int:
        async with database(stack.settings) as db:
            stock = await db.scalar(
                select(Product.stock).join(ProductCode).where(ProductCode.ean == ean)
            )
            assert stock is not None
            return stock

    return run_async(go())


def identify(stack: Stack, device: Credentials, card: str) -> dict[str, object]:
    """What `card/identify` says about the card now (a separate device asks)."""
    return stack.device(device).request("card/identify", card=card).raw


def test_two_products_scanned_and_card_tapped_charge_the_member_and_move_stock(
    stack: Stack,
) -> None:
    mate = add_product(stack, name="Club-Mate", price_cents=150, stock=5)
    pretzel = add_product(stack, name="Pretzel", price_cents=80, stock=3)
    member = stack.add_member(balance_cents=1000)
    assert member.card_uid is not None
    checkout = till(stack)
    checkout.scan(mate)
    checkout.scan(pretzel)
    checkout.scan(mate)

    checkout.tap(member.card_uid)

    assert checkout.shown[-1] == "paid 3.80 EUR: balance 6.20 EUR"
    assert checkout.terminal.basket == []
    assert stack.balance(member) == 1000 - 2 * 150 - 80
    assert (stock_of(stack, mate), stock_of(stack, pretzel)) == (3, 2)
    stack.check_ledger()


def test_basket_beyond_the_balance_is_not_paid_and_changes_nothing(stack: Stack) -> None:
    mate = add_product(stack, name="Club-Mate", price_cents=150, stock=5)
    member = stack.add_member(balance_cents=100)
    assert member.card_uid is not None
    checkout = till(stack)
    checkout.scan(mate)

    checkout.tap(member.card_uid)

    assert checkout.shown[-1] == "not paid: 1.50 EUR needed, balance 1.00 EUR"
    assert len(checkout.terminal.basket) == 1
    assert (stack.balance(member), stock_of(stack, mate)) == (100, 5)


def test_scan_of_unknown_ean_is_not_added(stack: Stack) -> None:
    checkout = till(stack)
    ean = unique_ean()

    checkout.scan(ean)

    assert checkout.shown[-1] == f"{ean}: unknown product, not added"
    assert checkout.terminal.basket == []


def test_unknown_card_tapped_twice_is_registered_and_shown_its_link(stack: Stack) -> None:
    checkout = till(stack)
    card = unique_uid()
    checkout.tap(card)
    assert checkout.shown[-1].startswith(f"card {card} is not registered: tap it again")

    checkout.tap(card)

    welcome, link = checkout.shown[-2:]
    assert welcome.startswith("card registered: welcome, Member ")
    assert link.startswith("link this card to your account within 15 min: http")
    assert "/link/" in link
    member = identify(stack, stack.provision(DeviceKind.CHECKOUT), card)
    assert (member["ok"], member["balance_cents"]) == (True, 0)


def test_link_key_then_tap_of_a_known_card_shows_a_fresh_link(stack: Stack) -> None:
    member = stack.add_member()
    assert member.card_uid is not None
    checkout = till(stack)
    checkout.press(Key.LINK)

    checkout.tap(member.card_uid)

    assert "/link/" in checkout.shown[-1]


def test_console_checkout_pays_the_basket_typed(stack: Stack) -> None:
    mate = add_product(stack, name="Club-Mate", price_cents=150, stock=5)
    member = stack.add_member(balance_cents=500)
    device = stack.provision(DeviceKind.CHECKOUT)

    result = run_program("checkout", device, f"scan {mate}\nscan {mate}\ntap {member.card_uid}\n")

    assert result.returncode == 0, result.stderr
    assert "paid 3.00 EUR: balance 2.00 EUR" in result.stdout.splitlines()
    assert (stack.balance(member), stock_of(stack, mate)) == (200, 3)
