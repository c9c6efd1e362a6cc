"""`makerbus machine ...` and `makerbus session ...`: what the operator reads, and exit codes."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core import machines, sessions
from core.clock import SystemClock
from tests.factories import make_device, unique_uid
from tests.makerbus.conftest import InDatabase, Makerbus


def _machine(makerbus: Makerbus, in_database: InDatabase) -> str:
    slug = in_database(make_device).slug
    makerbus(
        "machine", "tariff", slug,
        "--login-fee-cents", "100", "--price-per-minute-cents", "20", "--interval-min", "15",
    )  # fmt: skip
    return slug


def _member(makerbus: Makerbus) -> tuple[int, str]:
    uid = unique_uid()
    added = makerbus("member", "add", "--name", "Ada", "--card", uid, "--balance-cents", "5000")
    return int(added.stdout.split()[1]), uid


def _started(in_database: InDatabase, slug: str, uid: str) -> int:
    async def start(db: AsyncSession) -> int:
        device_id = await machines.machine_id(db, slug)
        running = await sessions.start(
            db,
            device_id=device_id,
            card_uid=uid,
            now=SystemClock().now(),
            heartbeat_period=timedelta(seconds=30),
            request_id=None,
        )
        return running.session_id

    return in_database(start)


def test_machine_tariff_repeats_the_prices(makerbus: Makerbus, in_database: InDatabase) -> None:
    slug = in_database(make_device).slug

    done = makerbus(
        "machine", "tariff", slug,
        "--login-fee-cents", "50", "--price-per-minute-cents", "10", "--interval-min", "5",
    )  # fmt: skip

    assert done.exit_code == 0
    assert done.stdout == f"Machine {slug}: login fee 50, 10/min, billed every 5 min.\n"


def test_machine_tariff_of_an_unknown_machine_fails_with_one_line(makerbus: Makerbus) -> None:
    done = makerbus(
        "machine", "tariff", "no-such-machine",
        "--login-fee-cents", "0", "--price-per-minute-cents", "1", "--interval-min", "1",
    )  # fmt: skip

    assert done.exit_code == 1
    assert done.stderr == "Error: no machine no-such-machine\n"


def test_machine_authorize_by_card_names_the_member(
    makerbus: Makerbus, in_database: InDatabase
) -> None:
    slug = _machine(makerbus, in_database)
    member_id, uid = _member(makerbus)

    done = makerbus("machine", "authorize", slug, "--card", uid, "--price-per-minute-cents", "5")

    assert done.exit_code == 0
    assert done.stdout == f"Member {member_id} may use {slug}.\n"


def test_machine_authorize_without_a_member_is_a_usage_error(
    makerbus: Makerbus, in_database: InDatabase
) -> None:
    slug = _machine(makerbus, in_database)

    done = makerbus("machine", "authorize", slug)

    assert done.exit_code == 2
    assert done.stderr.endswith("Error: name the member with exactly one of --card and --member\n")


def test_session_list_shows_an_open_session_and_session_end_bills_it(
    makerbus: Makerbus, in_database: InDatabase
) -> None:
    slug = _machine(makerbus, in_database)
    member_id, uid = _member(makerbus)
    makerbus("machine", "authorize", slug, "--member", str(member_id))
    session_id = _started(in_database, slug, uid)

    open_rows = json.loads(makerbus("session", "list", "--json").stdout)
    open_text = makerbus("session", "list").stdout.splitlines()
    ended = makerbus("session", "end", str(session_id))
    all_rows = json.loads(makerbus("session", "list", "--all", "--json").stdout)
    all_text = makerbus("session", "list", "--all").stdout.splitlines()

    opened = next(row for row in open_rows if row["session_id"] == session_id)
    assert opened == {
        "session_id": session_id,
        "machine": slug,
        "member": "Ada",
        "started_at": opened["started_at"],
        "paid_until": opened["paid_until"],
        "ended_at": None,
        "end_reason": None,
        "total_cents": None,
    }
    assert f"{session_id:>6}  {slug:<20} {'Ada':<24} paid until {opened['paid_until']}" in (
        open_text
    )
    assert ended.exit_code == 0
    # The login fee and the first minute; the rest of the prepaid 15 minutes goes back.
    assert re.fullmatch(
        rf"Session {session_id} ended: \d+ s, 120 cents, 280 refunded\. "
        rf"The handler service tells {slug}\.\n",
        ended.stdout,
    )
    assert session_id not in [row["session_id"] for row in json.loads(
        makerbus("session", "list", "--json").stdout
    )]  # fmt: skip
    closed = next(row for row in all_rows if row["session_id"] == session_id)
    assert (closed["end_reason"], closed["total_cents"]) == ("admin", 120)
    assert f"{session_id:>6}  {slug:<20} {'Ada':<24} ended {closed['ended_at']} (admin)" in (
        all_text
    )


def test_session_end_of_an_unknown_session_fails_with_one_line(makerbus: Makerbus) -> None:
    done = makerbus("session", "end", "999999999")

    assert done.exit_code == 1
    assert done.stderr == "Error: no session 999999999\n"
