"""`makerbus member ...`: what the operator reads, and the exit codes."""

from __future__ import annotations

import json

from core import members
from core.clock import SystemClock
from tests.factories import TESTER, unique_uid
from tests.makerbus.conftest import InDatabase, Makerbus


def test_member_add_prints_the_member_with_card_and_balance(makerbus: Makerbus) -> None:
    uid = unique_uid()

    done = makerbus(
        "member", "add", "--name", "Ada", "--card", uid.lower(), "--balance-cents", "250"
    )

    assert done.exit_code == 0
    member_id = done.stdout.split()[1]
    assert done.stdout == f"Member {member_id} 'Ada' created with card {uid}, balance 250 cents.\n"


def test_member_add_as_json_names_every_field(makerbus: Makerbus) -> None:
    done = makerbus("member", "add", "--name", "Grace", "--json")

    assert done.exit_code == 0
    created = json.loads(done.stdout)
    assert (
        done.stdout
        == json.dumps(
            {"member_id": created["member_id"], "name": "Grace", "card": None, "balance_cents": 0},
            indent=2,
        )
        + "\n"
    )


def test_member_add_with_a_malformed_card_is_a_usage_error(makerbus: Makerbus) -> None:
    done = makerbus("member", "add", "--name", "Eve", "--card", "04:zz")

    assert done.exit_code == 2
    assert done.stderr.endswith(
        "Error: Invalid value for --card: card UID must be 4, 7 or 10 bytes of hex\n"
    )


def test_credit_limit_by_member_id_reports_limit_and_balance(
    makerbus: Makerbus, in_database: InDatabase
) -> None:
    created = in_database(
        lambda db: members.add_member(
            db,
            name="Ada",
            card_uid=None,
            opening_balance_cents=30,
            now=SystemClock().now(),
            actor=TESTER,
        )
    )

    done = makerbus("member", "credit-limit", "--member", str(created.member_id), "500")

    assert done.exit_code == 0
    assert done.stdout == (
        f"Member {created.member_id} may now go down to -500 cents (balance 30 cents).\n"
    )


def test_credit_limit_for_an_unknown_member_fails_with_one_line(makerbus: Makerbus) -> None:
    done = makerbus("member", "credit-limit", "--member", "999999999", "5")

    assert done.exit_code == 1
    assert done.stderr == "Error: no member 999999999\n"


def test_pin_set_from_stdin_and_pin_clear_name_the_member(
    makerbus: Makerbus, in_database: InDatabase
) -> None:
    uid = unique_uid()
    created = in_database(
        lambda db: members.add_member(
            db,
            name="Ada",
            card_uid=uid,
            opening_balance_cents=0,
            now=SystemClock().now(),
            actor=TESTER,
        )
    )

    pin_set = makerbus("member", "pin-set", "--card", uid, "--pin-stdin", input="1234\n")
    pin_clear = makerbus("member", "pin-clear", "--card", uid)

    assert (pin_set.exit_code, pin_clear.exit_code) == (0, 0)
    assert pin_set.stdout == (
        f"PIN set for member {created.member_id}; failures and any lock cleared.\n"
    )
    assert pin_clear.stdout == f"PIN cleared for member {created.member_id}.\n"


def test_pin_set_with_a_short_pin_is_a_usage_error(makerbus: Makerbus) -> None:
    done = makerbus("member", "pin-set", "--card", unique_uid(), "--pin-stdin", input="12\n")

    assert done.exit_code == 2
    assert done.stderr.endswith("Error: Invalid value for PIN: a PIN is 4 to 8 digits\n")


def test_pin_clear_for_an_unknown_card_fails_with_one_line(makerbus: Makerbus) -> None:
    uid = unique_uid()

    done = makerbus("member", "pin-clear", "--card", uid)

    assert done.exit_code == 1
    assert done.stderr == f"Error: no member has card {uid}\n"
