"""CheckoutTerminal's decisions against a scripted server.

The live proof (a basket paid, balance and stock changed, a card registered and linked) is
tests/e2e/test_checkout_program.py in the makerbus repository.
"""

from __future__ import annotations

from dataclasses import dataclass

from scripted import NO_ANSWER, Clock, ScriptedServer, ok, refused

from makerbus_device import (
    Answer,
    BasketLine,
    CheckoutTerminal,
    Key,
    SimulatedKeypad,
    SimulatedReader,
    SimulatedScanner,
)

CARD = "04A1B2C3"
OTHER_CARD = "04B2C3D4"
MATE = "4029764001807"
MATE_ALIAS = "40297640"
PRETZEL = "4006381333931"


def product(
    ean: str = MATE,
    *,
    name: str = "Club-Mate",
    price: int = 150,
    stock: int = 10,
    negative: bool = False,
) -> Answer:
    return ok(
        ean=ean,
        name=name,
        price_cents=price,
        stock=stock,
        category=None,
        allow_negative_stock=negative,
    )


@dataclass
class Checkout:
    terminal: CheckoutTerminal
    server: ScriptedServer
    scanner: SimulatedScanner
    reader: SimulatedReader
    keypad: SimulatedKeypad
    clock: Clock
    shown: list[str]

    def scan(self, ean: str) -> None:
        self.scanner.scan(ean)
        self.terminal.step(poll_s=0)

    def tap(self, card: str = CARD) -> None:
        self.reader.tap(card)
        self.terminal.step(poll_s=0)

    def press(self, key: Key) -> None:
        self.keypad.press(key)
        self.terminal.step(poll_s=0)

    def wait(self, seconds: float) -> None:
        self.clock.now += seconds
        self.terminal.step(poll_s=0)


def checkout() -> Checkout:
    server, clock = ScriptedServer(), Clock()
    shown: list[str] = []
    scanner, reader, keypad = SimulatedScanner(), SimulatedReader(), SimulatedKeypad()
    terminal = CheckoutTerminal(
        server, scanner, reader, keypad, display=shown.append, monotonic=clock
    )
    terminal.start()
    return Checkout(terminal, server, scanner, reader, keypad, clock, shown)


def with_mate_in_basket() -> Checkout:
    till = checkout()
    till.server.answer("product/scan", product())
    till.scan(MATE)
    return till


def test_scan_of_known_product_adds_it_and_shows_name_price_and_total() -> None:
    till = checkout()
    till.server.answer("product/scan", product(), product(PRETZEL, name="Pretzel", price=80))

    till.scan(MATE)
    till.scan(PRETZEL)

    assert till.terminal.basket == [
        BasketLine(MATE, "Club-Mate", 150, 1),
        BasketLine(PRETZEL, "Pretzel", 80, 1),
    ]
    assert till.shown[-1] == "Pretzel 0.80 EUR | basket: 2 items, total 2.30 EUR"


def test_scan_of_an_alias_counts_on_the_primary_ean_line() -> None:
    till = with_mate_in_basket()
    till.server.answer("product/scan", product())

    till.scan(MATE_ALIAS)

    assert till.terminal.basket == [BasketLine(MATE, "Club-Mate", 150, 2)]


def test_scan_of_unknown_product_adds_nothing_and_says_why() -> None:
    till = checkout()
    till.server.answer("product/scan", refused("unknown_product", ean=MATE))

    till.scan(MATE)

    assert till.terminal.basket == []
    assert till.shown[-1] == f"{MATE}: unknown product, not added"


def test_scan_of_inactive_product_adds_nothing_and_says_why() -> None:
    till = checkout()
    till.server.answer("product/scan", refused("product_inactive", ean=MATE))

    till.scan(MATE)

    assert till.terminal.basket == []
    assert till.shown[-1] == f"{MATE}: not for sale, not added"


def test_scan_beyond_stock_adds_nothing() -> None:
    till = checkout()
    till.server.answer("product/scan", product(stock=1), product(stock=1))
    till.scan(MATE)

    till.scan(MATE)

    assert till.terminal.basket == [BasketLine(MATE, "Club-Mate", 150, 1)]
    assert till.shown[-1] == "Club-Mate: only 1 in stock, not added"


def test_scan_beyond_stock_of_product_allowing_negative_stock_adds_it() -> None:
    till = checkout()
    till.server.answer("product/scan", product(stock=0, negative=True))

    till.scan(MATE)

    assert till.terminal.basket == [BasketLine(MATE, "Club-Mate", 150, 1)]


def test_tap_with_basket_pays_it_and_empties_the_basket() -> None:
    till = with_mate_in_basket()
    till.server.answer("product/scan", product())
    till.scan(MATE)
    till.server.answer("checkout/purchase", ok(lines=[], total_cents=300, balance_cents=700))

    till.tap()

    assert till.server.last("checkout/purchase").fields == {
        "card": CARD,
        "items": [{"ean": MATE, "qty": 2}],
    }
    assert till.terminal.basket == []
    assert till.shown[-1] == "paid 3.00 EUR: balance 7.00 EUR"


def test_tap_with_insufficient_funds_keeps_basket_and_shows_need_and_balance() -> None:
    till = with_mate_in_basket()
    till.server.answer(
        "checkout/purchase", refused("insufficient_funds", needed_cents=150, balance_cents=20)
    )

    till.tap()

    assert till.terminal.basket == [BasketLine(MATE, "Club-Mate", 150, 1)]
    assert till.shown[-1] == "not paid: 1.50 EUR needed, balance 0.20 EUR"


def test_tap_with_product_out_of_stock_names_the_product() -> None:
    till = with_mate_in_basket()
    till.server.answer("checkout/purchase", refused("out_of_stock", ean=MATE, stock=0))

    till.tap()

    assert till.shown[-1] == "not paid: only 0 of Club-Mate in stock"


def test_tap_again_after_unanswered_purchase_resends_under_the_same_id() -> None:
    till = with_mate_in_basket()
    till.server.answer(
        "checkout/purchase", NO_ANSWER, ok(lines=[], total_cents=150, balance_cents=850)
    )
    till.tap()

    till.tap()

    first, second = [sent for sent in till.server.sent if sent.op == "checkout/purchase"]
    assert (first.request_id, second.request_id) == (None, "auto-1")
    assert till.terminal.basket == []


def test_tap_with_empty_basket_greets_the_member() -> None:
    till = checkout()
    till.server.answer("card/identify", ok(member_id=1, name="Ada", balance_cents=420))

    till.tap()

    assert till.shown[-1] == "hello Ada: balance 4.20 EUR; scan products to buy"


def test_unknown_card_tapped_twice_is_registered_and_shown_its_link() -> None:
    till = checkout()
    till.server.answer("card/identify", refused("unknown_card"))
    till.server.answer("card/register", ok(member_id=9, name="Member B2C3", balance_cents=0))
    url = "https://makerspace.example/link/abc"
    till.server.answer("card/link", ok(url=url, expires_at="2026-01-01T00:15:00Z", expires_s=900))
    till.tap()

    till.wait(5)
    till.tap()

    assert till.server.ops() == ["card/identify", "card/register", "card/link"]
    assert till.server.last("card/register").fields == {"card": CARD}
    assert till.shown[-2:] == [
        "card registered: welcome, Member B2C3 (member 9)",
        f"link this card to your account within 15 min: {url}",
    ]


def test_unknown_card_tapped_again_after_the_window_is_not_registered() -> None:
    till = checkout()
    till.server.answer("card/identify", refused("unknown_card"), refused("unknown_card"))
    till.tap()

    till.wait(21)
    till.tap()

    assert till.server.ops() == ["card/identify", "card/identify"]
    assert "registration cancelled: the card was not tapped again" in till.shown


def test_unknown_card_then_another_card_registers_nothing() -> None:
    till = checkout()
    till.server.answer("card/identify", refused("unknown_card"), refused("unknown_card"))
    till.tap(CARD)

    till.tap(OTHER_CARD)

    assert "card/register" not in till.server.ops()


def test_link_key_then_tap_shows_the_cards_link() -> None:
    till = checkout()
    till.server.answer(
        "card/link",
        ok(url="https://x.example/link/t", expires_at="2026-01-01T00:15:00Z", expires_s=900),
    )
    till.press(Key.LINK)

    till.tap()

    assert till.server.ops() == ["card/link"]
    assert (
        till.shown[-1] == "link this card to your account within 15 min: https://x.example/link/t"
    )


def test_link_for_a_linked_card_says_so() -> None:
    till = checkout()
    till.server.answer("card/link", refused("card_linked"))
    till.press(Key.LINK)

    till.tap()

    assert till.shown[-1] == "this card is already linked to an account"


def test_clear_key_empties_the_basket() -> None:
    till = with_mate_in_basket()

    till.press(Key.CLEAR)

    assert till.terminal.basket == []
    assert till.terminal.total_cents == 0


def test_basket_untouched_for_the_idle_time_is_emptied() -> None:
    till = with_mate_in_basket()

    till.wait(181)

    assert till.terminal.basket == []
    assert till.shown[-1] == "basket cleared: nobody paid for it"


def test_tap_arriving_after_the_basket_was_given_up_does_not_pay_it() -> None:
    till = with_mate_in_basket()
    till.server.answer("card/identify", ok(member_id=1, name="Ada", balance_cents=420))
    till.clock.now += 181  # no step ran meanwhile: the tap is the next input

    till.tap()

    assert "checkout/purchase" not in till.server.ops()
    assert till.shown[-2:] == [
        "basket cleared: nobody paid for it",
        "hello Ada: balance 4.20 EUR; scan products to buy",
    ]
