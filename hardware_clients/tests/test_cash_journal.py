"""The cash journal: what it saves comes back, ids included, and a crash never loses a save."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from makerbus_device import Booking, CashJournal, JournalError

TOPUP = Booking("bank/topup", {"card": "04A1B2C3", "amount_cents": 200, "target": "main"}, "c-1")


def booking_rows(bookings: list[Booking]) -> list[dict[str, object]]:
    return [booking.to_json() for booking in bookings]


def test_a_missing_journal_holds_nothing(tmp_path: Path) -> None:
    assert CashJournal(tmp_path / "cash.json").load() == []


def test_saved_bookings_come_back_with_their_ids_in_order(tmp_path: Path) -> None:
    journal = CashJournal(tmp_path / "state" / "cash.json")
    refused = Booking(
        "bank/donate", {"amount_cents": 50, "target": "gone"}, "c-2", needs_staff="unknown_target"
    )
    donation = Booking("bank/donate", {"amount_cents": 200, "target": "main"}, "c-1.d",
                       instead_of="card 04A1B2C3: card_blocked")  # fmt: skip

    journal.save([TOPUP, refused, donation])

    assert booking_rows(CashJournal(journal.path).load()) == booking_rows(
        [TOPUP, refused, donation]
    )


def test_saving_nothing_empties_the_journal(tmp_path: Path) -> None:
    journal = CashJournal(tmp_path / "cash.json")
    journal.save([TOPUP])

    journal.save([])

    assert journal.load() == []


def test_a_temporary_file_left_by_a_crash_before_the_rename_changes_nothing(
    tmp_path: Path,
) -> None:
    journal = CashJournal(tmp_path / "cash.json")
    journal.save([TOPUP])
    (tmp_path / ".cash.json.tmp").write_text('{"version": 1, "bookings": [{"op"')

    assert booking_rows(journal.load()) == booking_rows([TOPUP])
    journal.save([])
    assert journal.load() == []


def test_a_journal_that_is_not_json_is_an_error_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "cash.json"
    path.write_text("{not json")

    with pytest.raises(JournalError, match="is not JSON"):
        CashJournal(path).load()
    assert path.read_text() == "{not json"


def test_a_journal_of_another_shape_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cash.json"
    path.write_text(json.dumps({"version": 1, "bookings": [{"op": "bank/topup"}]}))

    with pytest.raises(JournalError, match="not a booking"):
        CashJournal(path).load()


WRITER = """
import sys
from pathlib import Path
from makerbus_device import Booking, CashJournal

journal = CashJournal(Path(sys.argv[1]))
n = 0
while True:
    n += 1
    coins = [Booking("bank/donate", {"amount_cents": 100, "target": "main"}, f"c-{n}-{i}")
             for i in range(n % 400)]
    journal.save(coins)
    if n == 20:
        print("saving", flush=True)
"""


@pytest.mark.parametrize("delay_s", [0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1])
def test_a_process_killed_while_saving_leaves_one_whole_save(
    tmp_path: Path, delay_s: float
) -> None:
    """The writer saves ``n % 400`` coins with ids ``c-<n>-<i>`` as fast as it can, until killed."""
    path = tmp_path / "cash.json"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    assert writer.stdout.readline() == "saving\n"
    time.sleep(delay_s)  # killed at another moment of its work each time
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    writer.stdout.close()

    ids = [booking.request_id.split("-")[1:] for booking in CashJournal(path).load()]

    rounds = {n for n, _ in ids}
    assert len(rounds) <= 1  # every booking from the same save, never a mix
    if rounds:
        assert [i for _, i in ids] == [str(i) for i in range(int(rounds.pop()) % 400)]
