"""What the reference programs share: asking the server, money and duration text."""

from __future__ import annotations

import pytest
from scripted import NO_ANSWER, Clock, ScriptedServer, ok, refused

from makerbus_device import Refused, RequestTimeout
from makerbus_device.terminal import Asker, duration, money


@pytest.mark.parametrize(
    ("cents", "currency", "text"),
    [
        (1250, "EUR", "12.50 EUR"),
        (-5, "EUR", "-0.05 EUR"),
        (0, "", "0.00"),
        (100000, "", "1000.00"),
    ],
)
def test_money_shows_cents_as_decimal_amount(cents: int, currency: str, text: str) -> None:
    assert money(cents, currency) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (42, "42 s"), (75, "1 min 15 s"), (3725, "1 h 2 min"), (7200, "2 h"),
     (90061, "1 d 1 h")],
)  # fmt: skip
def test_duration_shows_the_two_largest_units(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_ask_with_error_answer_raises_refused_with_its_fields() -> None:
    server = ScriptedServer()
    server.answer("bank/payout", refused("pin_invalid", attempts_left=2))

    with pytest.raises(Refused) as caught:
        Asker(server).ask("bank/payout", card="04A1B2C3")

    assert (caught.value.code, caught.value.int_field("attempts_left")) == ("pin_invalid", 2)


def test_ask_repeating_an_unanswered_request_reuses_its_id_once() -> None:
    server = ScriptedServer()
    server.answer("card/identify", NO_ANSWER, ok(name="Ada"), ok(name="Ada"))
    asker = Asker(server)
    with pytest.raises(RequestTimeout):
        asker.ask("card/identify", card="04A1B2C3")

    asker.ask("card/identify", card="04A1B2C3")
    asker.ask("card/identify", card="04A1B2C3")

    assert [sent.request_id for sent in server.sent] == [None, "auto-1", None]


def test_ask_with_other_fields_after_an_unanswered_request_uses_a_fresh_id() -> None:
    server = ScriptedServer()
    server.answer("card/identify", NO_ANSWER, ok(name="Bob"))
    asker = Asker(server)
    with pytest.raises(RequestTimeout):
        asker.ask("card/identify", card="04A1B2C3")

    asker.ask("card/identify", card="04B2C3D4")

    assert server.sent[-1].request_id is None


def test_ask_long_after_an_unanswered_request_uses_a_fresh_id() -> None:
    server, clock = ScriptedServer(), Clock()
    server.answer("card/identify", NO_ANSWER, ok(name="Ada"))
    asker = Asker(server, monotonic=clock)
    with pytest.raises(RequestTimeout):
        asker.ask("card/identify", card="04A1B2C3")
    clock.now += 601

    asker.ask("card/identify", card="04A1B2C3")

    assert server.sent[-1].request_id is None
