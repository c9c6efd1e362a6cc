"""The console drivers: typed lines become events of the right input, in the order typed."""

from __future__ import annotations

import io
import threading

from makerbus_device import (
    BankomatConsole,
    CheckoutConsole,
    Key,
    Payout,
    RentalConsole,
    SimulatedScanner,
    Transfer,
)


def test_checkout_console_delivers_each_line_to_its_input() -> None:
    console = CheckoutConsole(io.StringIO("scan 4029764001807\ntap 04a1b2c3\nlink\nclear\n"))

    events = [
        console.scanner.read(5),
        console.reader.read(5),
        console.keypad.read(5),
        console.keypad.read(5),
    ]

    assert events == ["4029764001807", "04A1B2C3", Key.LINK, Key.CLEAR]


def test_console_hands_over_the_next_line_only_after_the_previous_event_was_taken() -> None:
    console = CheckoutConsole(io.StringIO("tap 04A1B2C3\nscan 4029764001807\n"))

    scan_before_tap_taken = console.scanner.read(0.3)
    tap = console.reader.read(5)
    scan = console.scanner.read(5)

    assert (scan_before_tap_taken, tap, scan) == (None, "04A1B2C3", "4029764001807")


def test_console_at_end_of_input_calls_on_eof_after_the_last_event_was_taken() -> None:
    ended = threading.Event()
    console = RentalConsole(io.StringIO("tid e2801160600002054f3a1b7c\n"), on_eof=ended.set)

    ended_before_read = ended.wait(0.3)
    tid = console.tags.read(5)

    assert (ended_before_read, tid, ended.wait(5)) == (False, "E2801160600002054F3A1B7C", True)


def test_bankomat_console_parses_cash_transfer_payout_and_pin() -> None:
    lines = "coin 200\nnote 1000\ntransfer 04b2c3d4 150\npayout main 2000\npin 4815\nhistory\n"
    console = BankomatConsole(io.StringIO(lines))

    events = [
        console.cash.read(5),
        console.cash.read(5),
        console.keypad.read(5),
        console.keypad.read(5),
        console.pinpad.read(5),
        console.keypad.read(5),
    ]

    assert events == [
        200,
        1000,
        Transfer(to_card="04B2C3D4", amount_cents=150),
        Payout(target="main", amount_cents=2000),
        "4815",
        Key.HISTORY,
    ]


def test_console_with_bad_lines_complains_and_skips_them() -> None:
    complaints: list[str] = []
    lines = "scan 12ab\ntap\ncoin 5\nscan 4029764001807\n"

    console = CheckoutConsole(io.StringIO(lines), complain=complaints.append)

    assert console.scanner.read(5) == "4029764001807"
    assert complaints == [
        "'12ab' is not an EAN (8 to 14 digits)",
        "usage: tap UID",
        "unknown command; use: scan EAN, tap UID, link, clear",
    ]


def test_console_never_repeats_a_mistyped_pin() -> None:
    complaints: list[str] = []
    ended = threading.Event()

    BankomatConsole(io.StringIO("pin 12\n987654\n"), on_eof=ended.set, complain=complaints.append)

    assert ended.wait(5)
    assert not any("12" in text or "987654" in text for text in complaints)
    assert len(complaints) == 2


def test_simulated_scanner_returns_codes_in_order_then_none() -> None:
    scanner = SimulatedScanner()
    scanner.scan("4029764001807")
    scanner.scan("4006381333931")

    codes = [scanner.read(0), scanner.read(0), scanner.read(0.01)]

    assert codes == ["4029764001807", "4006381333931", None]
