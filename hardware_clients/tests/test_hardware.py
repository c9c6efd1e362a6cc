"""The card reader and relay drivers."""

import io
import threading

from makerbus_device import ConsoleReader, ConsoleRelay, SimulatedReader, SimulatedRelay


def test_console_reader_with_typed_lines_returns_upper_case_uids() -> None:
    reader = ConsoleReader(io.StringIO("  04a1b2c3 \n"))

    assert reader.read(timeout=5) == "04A1B2C3"


def test_console_reader_with_empty_lines_skips_them() -> None:
    reader = ConsoleReader(io.StringIO("\n   \n04B2C3D4E5F607\n"))

    assert reader.read(timeout=5) == "04B2C3D4E5F607"


def test_console_reader_at_end_of_input_calls_on_eof_after_the_last_uid() -> None:
    ended = threading.Event()
    reader = ConsoleReader(io.StringIO("04A1B2C3\n"), on_eof=ended.set)

    first = reader.read(timeout=5)
    ended_before_second_read = ended.is_set()
    second = reader.read(timeout=5)

    assert (first, ended_before_second_read, second, ended.is_set()) == (
        "04A1B2C3",
        False,
        None,
        True,
    )


def test_simulated_reader_without_tap_returns_none() -> None:
    assert SimulatedReader().read(timeout=0.01) is None


def test_simulated_reader_with_taps_returns_them_in_order() -> None:
    reader = SimulatedReader()
    reader.tap("04A1B2C3")
    reader.tap("04B2C3D4")

    assert [reader.read(timeout=0), reader.read(timeout=0)] == ["04A1B2C3", "04B2C3D4"]


def test_simulated_relay_switches_record_history_and_state() -> None:
    relay = SimulatedRelay()

    relay.switch(False)
    relay.switch(True)

    assert (relay.history, relay.is_on) == ([False, True], True)


def test_simulated_relay_never_switched_is_off() -> None:
    assert not SimulatedRelay().is_on


def test_console_relay_switches_write_relay_lines() -> None:
    out = io.StringIO()
    relay = ConsoleRelay(out)

    relay.switch(True)
    relay.switch(False)

    assert (out.getvalue(), relay.is_on) == ("RELAY ON\nRELAY OFF\n", False)
