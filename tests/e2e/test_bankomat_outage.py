"""The Bankomat loses the database for a while: every cent it takes meanwhile is booked once.

The handler service runs on a PostgreSQL of the test's own, which the test really stops (the
service answers ``unavailable``) and starts again. The Bankomat keeps the cash in its journal,
retries under the same ids, and a restarted Bankomat program books what it kept on disk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from makerbus_device import Backoff, CashJournal, Key
from makerbus_device.terminal import Asker
from sqlalchemy import select

from core.formats import DeviceKind
from core.models import CashBox, CashBoxEntry
from makerbus.context import database
from tests.e2e.console import Console
from tests.e2e.private_postgres import PrivatePostgres
from tests.e2e.stack import Stack, run_async, wait_until
from tests.e2e.test_bankomat_program import Machine, add_box, bankomat, box_balance

QUICK = Backoff(first_s=0.2, cap_s=1.0)
BACK = "will book when the server is back"


def box_entries(stack: Stack, slug: str) -> list[tuple[str | None, int]]:
    """(request id, amount) of each booking of the box, oldest first."""

    async def go() -> list[tuple[str | None, int]]:
        async with database(stack.settings) as db:
            rows = await db.execute(
                select(CashBoxEntry.request_id, CashBoxEntry.amount_cents)
                .join(CashBox, CashBox.id == CashBoxEntry.box_id)
                .where(CashBox.slug == slug)
                .order_by(CashBoxEntry.id)
            )
            return [(request_id, amount) for request_id, amount in rows.all()]

    return run_async(go())


def step_until(machine: Machine, condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Run the Bankomat (no input comes) until ``condition()``."""

    def stepped() -> bool:
        machine.bankomat.step(poll_s=0.05)
        return condition()

    return wait_until(stepped, timeout)


def test_cash_taken_while_the_database_is_down_is_booked_once_it_is_back(
    stack_on_own_postgres: Stack, own_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    stack = stack_on_own_postgres
    box, member = add_box(stack), stack.add_member(balance_cents=0)
    journal = CashJournal(tmp_path / "cash.json")
    machine = bankomat(stack, box, journal, QUICK)
    machine.tap(member)
    machine.insert(200)

    own_postgres.stop()
    machine.insert(100)
    machine.insert(50)
    machine.choose(Key.DONE)
    machine.insert(500)
    assert machine.shown[-1] == f"3 payments pending (6.50 EUR), {BACK}"
    pending = [(booking.request_id, booking.amount_cents) for booking in journal.load()]
    assert [amount for _, amount in pending] == [100, 50, 500]
    assert step_until(machine, lambda: min(b.attempts for b in machine.bankomat.unbooked) >= 3)
    assert machine.bankomat.unbooked  # still the database is away: nothing given up
    own_postgres.start()

    assert step_until(machine, lambda: not machine.bankomat.unbooked), machine.shown[-5:]
    assert machine.shown[-1] == "all pending payments are booked"
    assert (stack.balance(member), box_balance(stack, box)) == (350, 850)
    booked_first, *booked_later = box_entries(stack, box)
    assert booked_first[1] == 200
    assert sorted(booked_later) == sorted(pending)  # each under its id, once, in any order
    assert journal.load() == []
    stack.check_ledger()


def test_a_restarted_bankomat_program_books_the_cash_kept_on_disk_under_the_same_ids(
    stack_on_own_postgres: Stack, own_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    stack = stack_on_own_postgres
    box, member = add_box(stack), stack.add_member(balance_cents=0)
    device = stack.provision(DeviceKind.BANKOMAT)
    journal = tmp_path / "cash.json"
    options = ("--target", box, "--journal", str(journal))
    first = Console(device, "bankomat", *options)
    try:
        first.type(f"tap {member.card_uid}\n")
        first.read_until("hello Ada Lovelace: balance 0.00 EUR; insert coins or notes to top up")
        own_postgres.stop()
        first.type("coin 200\n")
        first.read_until(f"1 payment pending (2.00 EUR), {BACK}")
        first.type("note 500\n", then_close=True)
        first.read_until(f"2 payments pending (7.00 EUR), {BACK}")
        first.read_until(
            f"2 payments pending (7.00 EUR): kept in {journal}, booked at the next start"
        )
        assert first.process.wait(30) == 0
    finally:
        first.close()
    kept = CashJournal(journal).load()
    own_postgres.start()
    # The first booking reached the server before the program went, only its answer was lost:
    # the server booked it then, under the id the journal kept.
    direct = stack.device(device)
    assert Asker(direct).ask_as(kept[0].op, kept[0].request_id, **kept[0].fields).ok
    direct.close()

    second = Console(device, "bankomat", *options)
    try:
        shown = second.read_until("all pending payments are booked")
        second.type("", then_close=True)
        assert second.process.wait(30) == 0
    finally:
        second.close()

    assert f"2 payments pending (7.00 EUR), {BACK}" in shown
    assert (stack.balance(member), box_balance(stack, box)) == (700, 700)
    assert box_entries(stack, box) == [(kept[0].request_id, 200), (kept[1].request_id, 500)]
    assert CashJournal(journal).load() == []
    stack.check_ledger()
