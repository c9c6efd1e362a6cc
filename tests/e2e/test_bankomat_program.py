"""The reference Bankomat on the live stack: cash booked, money sent, payouts with a PIN.

The Bankomat runs in-process with simulated card reader, cash acceptor, PIN pad and menu (and
once as the `makerbus-device bankomat` console program); the server, broker and database are
real.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from makerbus_device import (
    Backoff,
    Bankomat,
    CashJournal,
    Key,
    Payout,
    SimulatedCashAcceptor,
    SimulatedKeypad,
    SimulatedPinPad,
    SimulatedReader,
    Transfer,
)
from sqlalchemy import select

from core.formats import DeviceKind
from core.members import NewMember
from core.models import CashBox
from makerbus.context import database
from tests.e2e.console import run_program
from tests.e2e.stack import Stack, run_async
from tests.factories import unique_slug

PIN = "48151623"


@dataclass
class Machine:
    """A started Bankomat with simulated inputs; ``shown`` is its display."""

    bankomat: Bankomat
    reader: SimulatedReader
    cash: SimulatedCashAcceptor
    pinpad: SimulatedPinPad
    keypad: SimulatedKeypad
    shown: list[str]

    def tap(self, member: NewMember) -> None:
        assert member.card_uid is not None
        self.reader.tap(member.card_uid)
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


def bankomat(
    stack: Stack, box: str, journal: CashJournal | None = None, backoff: Backoff | None = None
) -> Machine:
    parts = SimulatedReader(), SimulatedCashAcceptor(), SimulatedPinPad(), SimulatedKeypad()
    shown: list[str] = []
    client = stack.device(stack.provision(DeviceKind.BANKOMAT))
    machine = Bankomat(
        client,
        *parts,
        display=shown.append,
        target=box,
        journal=journal,
        backoff=backoff or Backoff(),
    )
    machine.start()
    return Machine(machine, *parts, shown)


def add_box(stack: Stack) -> str:
    """A new, empty cash box made with the real `makerbus cashbox add`; its slug."""
    slug = unique_slug("box")
    stack.cli("cashbox", "add", slug, "--name", "Drinks fund")
    return slug


def box_balance(stack: Stack, slug: str) -> int:
    async def go() -> int:
        async with database(stack.settings) as db:
            balance = await db.scalar(select(CashBox.balance_cents).where(CashBox.slug == slug))
            assert balance is not None
            return balance

    return run_async(go())


def treasurer(stack: Stack) -> NewMember:
    """A member whose PIN was set with `makerbus member pin-set --pin-stdin`."""
    member = stack.add_member(name="Grace Hopper")
    assert member.card_uid is not None
    subprocess.run(
        [sys.executable, "-m", "makerbus", "member", "pin-set", "--card", member.card_uid,
         "--pin-stdin"],
        env=stack.env(), input=f"{PIN}\n", capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return member


def test_coins_inserted_after_a_tap_credit_the_member_and_the_box(stack: Stack) -> None:
    box = add_box(stack)
    member = stack.add_member(balance_cents=0)
    machine = bankomat(stack, box)
    machine.tap(member)

    machine.insert(200)
    machine.insert(50)

    assert machine.shown[-1] == "topped up 0.50 EUR: balance 2.50 EUR"
    assert (stack.balance(member), box_balance(stack, box)) == (250, 250)
    stack.check_ledger()


def test_coin_without_a_card_is_a_donation_to_the_box(stack: Stack) -> None:
    box = add_box(stack)
    machine = bankomat(stack, box)

    machine.insert(500)

    assert machine.shown[-1] == "thank you for donating 5.00 EUR"
    assert box_balance(stack, box) == 500


def test_payout_with_the_right_pin_takes_cash_out_of_the_box(stack: Stack) -> None:
    box = add_box(stack)
    grace = treasurer(stack)
    machine = bankomat(stack, box)
    machine.insert(2000)
    machine.tap(grace)
    machine.choose(Payout(target=box, amount_cents=1500))

    machine.enter(PIN)

    assert machine.shown[-1] == f"take 15.00 EUR out of {box}: 5.00 EUR left in it"
    assert box_balance(stack, box) == 500
    assert not any(PIN in line for line in machine.shown)


def test_payout_with_a_wrong_pin_shows_the_attempts_left(stack: Stack) -> None:
    box = add_box(stack)
    grace = treasurer(stack)
    machine = bankomat(stack, box)
    machine.insert(2000)
    machine.tap(grace)
    machine.choose(Payout(target=box, amount_cents=1500))

    machine.enter("0000")

    assert machine.shown[-1] == "no payout: wrong PIN, 2 attempts left"
    assert box_balance(stack, box) == 2000


def test_payout_by_a_member_without_pin_is_refused(stack: Stack) -> None:
    box = add_box(stack)
    member = stack.add_member()
    machine = bankomat(stack, box)
    machine.insert(2000)
    machine.tap(member)
    machine.choose(Payout(target=box, amount_cents=1500))

    machine.enter(PIN)

    assert machine.shown[-1] == "no payout: payouts need a treasurer's card with a PIN"
    assert box_balance(stack, box) == 2000


def test_transfer_moves_money_to_the_other_members_card(stack: Stack) -> None:
    box = add_box(stack)
    ada, bob = stack.add_member(balance_cents=1000), stack.add_member(balance_cents=0)
    assert bob.card_uid is not None
    machine = bankomat(stack, box)
    machine.tap(ada)

    machine.choose(Transfer(to_card=bob.card_uid, amount_cents=300))

    assert machine.shown[-1] == f"sent 3.00 EUR to card {bob.card_uid}: balance 7.00 EUR"
    assert (stack.balance(ada), stack.balance(bob)) == (700, 300)
    stack.check_ledger()


def test_history_shows_the_top_up_just_made(stack: Stack) -> None:
    box = add_box(stack)
    member = stack.add_member(balance_cents=0)
    machine = bankomat(stack, box)
    machine.tap(member)
    machine.insert(200)

    machine.choose(Key.HISTORY)

    assert machine.shown[-1].endswith("  topup  2.00 EUR  balance 2.00 EUR")


def test_console_payout_works_and_never_prints_the_pin(stack: Stack, tmp_path: Path) -> None:
    box = add_box(stack)
    grace = treasurer(stack)
    device = stack.provision(DeviceKind.BANKOMAT)
    lines = f"note 2000\ntap {grace.card_uid}\npayout {box} 500\npin {PIN}\n"

    journal = str(tmp_path / "cash.json")
    result = run_program("bankomat", device, lines, "--target", box, "--journal", journal, "-v")

    assert result.returncode == 0, result.stderr
    assert f"take 5.00 EUR out of {box}: 15.00 EUR left in it" in result.stdout.splitlines()
    assert "DEBUG" in result.stderr  # the SDK logged its traffic, and still:
    assert PIN not in result.stdout + result.stderr
    assert box_balance(stack, box) == 1500
