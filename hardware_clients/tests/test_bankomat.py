"""Bankomat's decisions against a scripted server.

The live proof (coins credit member and cash box, a payout with the right PIN, the PIN never in
the program's output) is tests/e2e/test_bankomat_program.py in the makerbus repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scripted import NO_ANSWER, Clock, ScriptedServer, ok, refused

from makerbus_device import (
    Backoff,
    Bankomat,
    CashJournal,
    DeviceError,
    Key,
    Payout,
    SimulatedCashAcceptor,
    SimulatedKeypad,
    SimulatedPinPad,
    SimulatedReader,
    Transfer,
)

CARD = "04A1B2C3"
OTHER_CARD = "04B2C3D4"
PIN = "48151623"
TARGETS = ok(
    targets=[
        {"slug": "donations", "name": "Donations", "balance_cents": 0},
        {"slug": "main", "name": "Main box", "balance_cents": 5000},
    ]
)
ADA = ok(member_id=1, name="Ada", balance_cents=500, has_pin=True)


@dataclass
class Machine:
    bankomat: Bankomat
    server: ScriptedServer
    reader: SimulatedReader
    cash: SimulatedCashAcceptor
    pinpad: SimulatedPinPad
    keypad: SimulatedKeypad
    clock: Clock
    shown: list[str]

    def tap(self, card: str = CARD) -> None:
        self.reader.tap(card)
        self.bankomat.step(poll_s=0)

    def insert(self, cents: int) -> None:
        self.cash.insert(cents)
        self.bankomat.step(poll_s=0)

    def choose(self, choice: Key | Transfer | Payout) -> None:
        self.keypad.press(choice)
        self.bankomat.step(poll_s=0)

    def enter(self, pin: str) -> None:
        self.pinpad.enter(pin)
        self.bankomat.step(poll_s=0)

    def wait(self, seconds: float) -> None:
        self.clock.now += seconds
        self.bankomat.step(poll_s=0)


BACKOFF = Backoff(first_s=2.0, cap_s=60.0, jitter=lambda: 1.0)
"""No jitter: the n-th retry waits 2 * 2**(n-1) s, at most 60 s."""


def bankomat(target: str | None = None, journal: Path | None = None) -> Machine:
    server, clock = ScriptedServer(), Clock()
    shown: list[str] = []
    server.answer("bank/targets", TARGETS)
    parts = SimulatedReader(), SimulatedCashAcceptor(), SimulatedPinPad(), SimulatedKeypad()
    machine = Bankomat(
        server,
        *parts,
        display=shown.append,
        monotonic=clock,
        target=target,
        journal=None if journal is None else CashJournal(journal),
        backoff=BACKOFF,
    )
    machine.start()
    return Machine(machine, server, *parts, clock, shown)


def with_ada(journal: Path | None = None) -> Machine:
    machine = bankomat(journal=journal)
    machine.server.answer("card/identify", ADA)
    machine.tap()
    return machine


def test_start_books_to_the_first_cash_box_listed() -> None:
    assert bankomat().bankomat.target == "donations"


def test_start_with_configured_cash_box_books_to_it() -> None:
    assert bankomat(target="main").bankomat.target == "main"


def test_tap_selects_the_member_and_shows_the_balance() -> None:
    machine = with_ada()

    assert machine.bankomat.selected is not None
    assert machine.shown[-1] == "hello Ada: balance 5.00 EUR; insert coins or notes to top up"


def test_coin_with_member_selected_tops_up_the_member() -> None:
    machine = with_ada()
    machine.server.answer("bank/topup", ok(balance_cents=700, target_balance_cents=200))

    machine.insert(200)

    assert machine.server.last("bank/topup").fields == {
        "card": CARD,
        "amount_cents": 200,
        "target": "donations",
    }
    assert machine.shown[-1] == "topped up 2.00 EUR: balance 7.00 EUR"


def test_coin_without_member_is_a_donation() -> None:
    machine = bankomat(target="main")
    machine.server.answer("bank/donate", ok(target_balance_cents=5050))

    machine.insert(50)

    assert machine.server.last("bank/donate").fields == {"amount_cents": 50, "target": "main"}
    assert machine.shown[-1] == "thank you for donating 0.50 EUR"


def test_coin_after_the_member_went_idle_is_a_donation() -> None:
    machine = with_ada()
    machine.wait(61)
    machine.server.answer("bank/donate", ok(target_balance_cents=100))

    machine.insert(100)

    assert machine.server.ops()[-1] == "bank/donate"
    assert machine.bankomat.selected is None


def test_unanswered_coin_is_booked_later_under_the_same_id() -> None:
    machine = with_ada()
    machine.server.answer("bank/topup", NO_ANSWER, ok(balance_cents=700, target_balance_cents=200))
    machine.insert(200)
    assert len(machine.bankomat.unbooked) == 1

    machine.wait(2)

    first, again = [sent for sent in machine.server.sent if sent.op == "bank/topup"]
    assert first.request_id is not None
    assert (again.request_id, again.fields) == (first.request_id, first.fields)
    assert machine.bankomat.unbooked == []


def test_two_equal_unanswered_coins_are_two_bookings() -> None:
    machine = with_ada()
    machine.server.answer("bank/topup", NO_ANSWER, NO_ANSWER)

    machine.insert(100)
    machine.insert(100)

    first, second = [sent.request_id for sent in machine.server.sent if sent.op == "bank/topup"]
    assert [b.request_id for b in machine.bankomat.unbooked] == [first, second]
    assert first != second


def test_payout_sends_the_pin_entered_and_never_shows_it() -> None:
    machine = with_ada()
    machine.server.answer("bank/payout", ok(target_balance_cents=3000))
    machine.choose(Payout(target="main", amount_cents=2000))

    machine.enter(PIN)

    assert machine.server.last("bank/payout").fields == {
        "card": CARD,
        "pin": PIN,
        "target": "main",
        "amount_cents": 2000,
    }
    assert machine.shown[-1] == "take 20.00 EUR out of main: 30.00 EUR left in it"
    assert not any(PIN in line for line in machine.shown)


def test_payout_with_wrong_pin_shows_attempts_left() -> None:
    machine = with_ada()
    machine.server.answer("bank/payout", refused("pin_invalid", attempts_left=2))
    machine.choose(Payout(target="main", amount_cents=2000))

    machine.enter("0000")

    assert machine.shown[-1] == "no payout: wrong PIN, 2 attempts left"


def test_payout_with_locked_pin_shows_until_when() -> None:
    machine = with_ada()
    machine.server.answer("bank/payout", refused("pin_locked", locked_until="2026-11-21T20:32:33Z"))
    machine.choose(Payout(target="main", amount_cents=2000))

    machine.enter(PIN)

    assert machine.shown[-1] == "no payout: the PIN is locked until 2026-11-21T20:32:33Z"


def test_pin_without_payout_waiting_sends_nothing() -> None:
    machine = with_ada()

    machine.enter(PIN)

    assert machine.server.ops() == ["bank/targets", "card/identify"]
    assert machine.shown[-1] == "no payout is waiting for a PIN"


def test_payout_without_pin_in_time_is_cancelled() -> None:
    machine = with_ada()
    machine.choose(Payout(target="main", amount_cents=2000))

    machine.wait(31)
    machine.enter(PIN)

    assert "payout cancelled: no PIN was entered" in machine.shown
    assert "bank/payout" not in machine.server.ops()


def test_transfer_sends_money_and_shows_the_new_balance() -> None:
    machine = with_ada()
    machine.server.answer("bank/transfer", ok(balance_cents=300, to_balance_cents=1200))

    machine.choose(Transfer(to_card=OTHER_CARD, amount_cents=200))

    assert machine.server.last("bank/transfer").fields == {
        "card": CARD,
        "to_card": OTHER_CARD,
        "amount_cents": 200,
    }
    assert machine.shown[-1] == f"sent 2.00 EUR to card {OTHER_CARD}: balance 3.00 EUR"


def test_transfer_beyond_balance_shows_need_and_balance() -> None:
    machine = with_ada()
    machine.server.answer(
        "bank/transfer", refused("insufficient_funds", balance_cents=500, needed_cents=900)
    )

    machine.choose(Transfer(to_card=OTHER_CARD, amount_cents=900))

    assert machine.shown[-1] == "not sent: 9.00 EUR needed, balance 5.00 EUR"


def test_history_shows_one_line_per_booking() -> None:
    machine = with_ada()
    machine.server.answer(
        "bank/history",
        ok(
            lines=[
                {"at": "2026-11-21T20:17:33Z", "kind": "topup", "amount_cents": 200,
                 "balance_after_cents": 500},
                {"at": "2026-11-20T10:00:00Z", "kind": "purchase", "amount_cents": -150,
                 "balance_after_cents": 300},
            ]
        ),
    )  # fmt: skip

    machine.choose(Key.HISTORY)

    assert machine.server.last("bank/history").fields == {"card": CARD, "limit": 10}
    assert machine.shown[-2:] == [
        "2026-11-21 20:17  topup  2.00 EUR  balance 5.00 EUR",
        "2026-11-20 10:00  purchase  -1.50 EUR  balance 3.00 EUR",
    ]


def test_menu_without_a_card_asks_for_one() -> None:
    machine = bankomat()

    machine.choose(Key.HISTORY)

    assert machine.shown[-1] == "tap your card first"
    assert machine.server.ops() == ["bank/targets"]


def test_done_ends_the_members_turn() -> None:
    machine = with_ada()

    machine.choose(Key.DONE)

    assert machine.bankomat.selected is None
    assert machine.shown[-1] == "goodbye, Ada"


def test_coin_arriving_after_the_members_turn_ended_is_a_donation() -> None:
    machine = with_ada()
    machine.server.answer("bank/donate", ok(target_balance_cents=100))
    machine.clock.now += 61  # no step ran meanwhile: the coin is the next input

    machine.insert(100)

    assert machine.server.ops()[-1] == "bank/donate"
    assert machine.shown[-2:] == ["goodbye, Ada", "thank you for donating 1.00 EUR"]


def test_two_equal_coins_that_could_not_be_sent_are_two_bookings() -> None:
    machine = with_ada()
    not_connected = DeviceError("not connected: call connect() first")
    machine.server.answer("bank/topup", not_connected, not_connected)

    machine.insert(100)
    machine.insert(100)

    assert len(machine.bankomat.unbooked) == 2


def test_coin_answered_unavailable_is_booked_later_under_the_same_id() -> None:
    machine = with_ada()
    machine.server.answer(
        "bank/topup", refused("unavailable"), ok(balance_cents=700, target_balance_cents=200)
    )
    machine.insert(200)
    assert len(machine.bankomat.unbooked) == 1

    machine.wait(60)

    first, again = [sent for sent in machine.server.sent if sent.op == "bank/topup"]
    assert again.request_id == first.request_id is not None
    assert machine.bankomat.unbooked == []


def test_a_booking_still_unavailable_is_tried_again_after_a_growing_pause() -> None:
    machine = with_ada()
    machine.server.answer("bank/topup", *[refused("unavailable")] * 3)
    machine.insert(200)

    sent_by_second = []
    for _ in range(8):
        machine.wait(1)
        sent_by_second.append(machine.server.ops().count("bank/topup"))

    assert sent_by_second == [1, 2, 2, 2, 2, 3, 3, 3]  # retries after 2 s, then 4 s


def test_back_off_doubles_up_to_its_cap_and_jitters_down_to_half() -> None:
    steady = Backoff(first_s=2.0, cap_s=60.0, jitter=lambda: 1.0)
    unlucky = Backoff(first_s=2.0, cap_s=60.0, jitter=lambda: 0.0)

    assert [steady.after(n) for n in (1, 2, 3, 5, 6, 20)] == [2, 4, 8, 32, 60, 60]
    assert [unlucky.after(n) for n in (1, 6)] == [1, 30]


def test_pending_payments_are_shown_and_so_is_their_booking() -> None:
    machine = with_ada()
    machine.server.answer(
        "bank/topup",
        refused("unavailable"),
        NO_ANSWER,
        ok(balance_cents=700, target_balance_cents=200),
        ok(balance_cents=850, target_balance_cents=350),
    )
    machine.insert(200)
    assert machine.shown[-1] == "1 payment pending (2.00 EUR), will book when the server is back"
    machine.insert(150)
    assert machine.shown[-1] == "2 payments pending (3.50 EUR), will book when the server is back"

    machine.wait(2)
    assert machine.shown[-2:] == [
        "topped up 2.00 EUR: balance 7.00 EUR",
        "1 payment pending (1.50 EUR), will book when the server is back",
    ]
    machine.wait(2)
    assert machine.shown[-2:] == [
        "topped up 1.50 EUR: balance 8.50 EUR",
        "all pending payments are booked",
    ]


def test_top_up_refused_for_its_card_is_booked_as_a_donation_to_the_box() -> None:
    machine = with_ada()
    machine.server.answer("bank/topup", refused("card_blocked"))
    machine.server.answer("bank/donate", ok(target_balance_cents=200))

    machine.insert(200)

    topup, donation = machine.server.sent[-2:]
    assert donation.op == "bank/donate"
    assert donation.fields == {"amount_cents": 200, "target": "donations"}
    assert donation.request_id == f"{topup.request_id}.d"
    assert machine.shown[-2:] == [
        f"2.00 EUR cannot go to card {CARD} (card_blocked): it is booked as a donation to the "
        "cash box; the staff can credit it to you",
        "2.00 EUR booked to the cash box as a donation",
    ]
    assert (machine.bankomat.unbooked, machine.bankomat.needs_staff) == ([], [])


def test_booking_refused_for_good_is_kept_for_the_staff_and_not_sent_again(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "cash.json"
    machine = bankomat(journal=journal)
    machine.server.answer("bank/donate", refused("unknown_target"))

    machine.insert(500)
    machine.wait(3600)

    assert machine.server.ops().count("bank/donate") == 1
    assert (
        machine.shown[-1] == "5.00 EUR taken but not booked (unknown_target): please tell the staff"
    )
    [kept] = CashJournal(journal).load()
    assert kept.needs_staff == "unknown_target: unknown_target"
    again = bankomat(journal=journal)
    assert again.shown[-1] == "1 payment not booked (5.00 EUR): please tell the staff"
    assert again.bankomat.unbooked == []


def test_cash_pending_at_exit_is_booked_after_a_restart_under_its_first_id(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "cash.json"
    before = with_ada(journal)
    before.server.answer("bank/topup", NO_ANSWER)
    before.insert(200)
    [first] = [sent for sent in before.server.sent if sent.op == "bank/topup"]

    after = bankomat(journal=journal)
    assert after.shown[-1] == "1 payment pending (2.00 EUR), will book when the server is back"
    after.server.answer("bank/topup", ok(balance_cents=700, target_balance_cents=200))
    after.wait(0)

    [again] = [sent for sent in after.server.sent if sent.op == "bank/topup"]
    assert (again.request_id, again.fields) == (first.request_id, first.fields)
    assert after.shown[-2:] == [
        f"topped up 2.00 EUR for card {CARD}",
        "all pending payments are booked",
    ]
    assert CashJournal(journal).load() == []


def test_cash_taken_while_no_cash_box_is_known_is_kept_for_the_staff() -> None:
    server = ScriptedServer()
    server.answer("bank/targets", refused("unavailable"), refused("unavailable"))
    shown: list[str] = []
    cash = SimulatedCashAcceptor()
    machine = Bankomat(
        server, SimulatedReader(), cash, SimulatedPinPad(), display=shown.append, backoff=BACKOFF
    )
    machine.start()

    cash.insert(100)
    machine.step(poll_s=0)

    assert [b.fields for b in machine.needs_staff] == [{"amount_cents": 100, "target": None}]
    assert shown[-1] == "1.00 EUR taken but not booked (no cash box known): please tell the staff"


def test_configured_cash_box_is_used_while_the_server_cannot_list_them() -> None:
    server = ScriptedServer()
    server.answer("bank/targets", refused("unavailable"))
    server.answer("bank/donate", refused("unavailable"), ok(target_balance_cents=100))
    cash = SimulatedCashAcceptor()
    machine = Bankomat(server, SimulatedReader(), cash, SimulatedPinPad(), target="main")
    machine.start()

    cash.insert(100)
    machine.step(poll_s=0)

    assert server.last("bank/donate").fields == {"amount_cents": 100, "target": "main"}
    assert len(machine.unbooked) == 1


def test_a_rate_limited_booking_waits_at_least_as_long_as_the_server_asks() -> None:
    machine = with_ada()
    machine.server.answer(
        "bank/topup",
        refused("rate_limited", retry_after_ms=5000),
        ok(balance_cents=700, target_balance_cents=200),
    )
    machine.insert(200)

    machine.wait(4)
    assert machine.server.ops().count("bank/topup") == 1
    machine.wait(1)
    assert machine.server.ops().count("bank/topup") == 2
    assert machine.bankomat.unbooked == []
