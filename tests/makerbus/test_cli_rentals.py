"""`makerbus rental ...`: what the operator reads, and the exit codes."""

from __future__ import annotations

import json
import secrets

from tests.factories import unique_uid
from tests.makerbus.conftest import Makerbus


def _tid() -> str:
    return "E280" + secrets.token_hex(10).upper()


def test_an_item_is_added_listed_and_deactivated(makerbus: Makerbus) -> None:
    tid = _tid()

    added = makerbus("rental", "add", tid.lower(), "--name", "Drill", "--description", "18 V")
    listed = makerbus("rental", "list").stdout.splitlines()
    deactivated = makerbus("rental", "deactivate", tid)
    as_json = json.loads(makerbus("rental", "list", "--json").stdout)

    item_id = added.stdout.rsplit("id ", 1)[1].removesuffix(").\n")
    assert added.stdout == f"Item {tid} added: Drill (id {item_id}).\n"
    assert f"{tid:<26} {'Drill':<30} in" in listed
    assert deactivated.stdout == f"Item {tid} deactivated.\n"
    assert {
        "tid": tid,
        "name": "Drill",
        "description": "18 V",
        "active": False,
        "out": False,
        "rental_id": None,
        "member_id": None,
        "member": None,
        "since": None,
    } in as_json
    assert f"{tid:<26} {'Drill':<30} in (inactive)" in makerbus("rental", "list").stdout.split("\n")


def test_permit_and_revoke_name_the_member(makerbus: Makerbus) -> None:
    uid = unique_uid()
    added = makerbus("member", "add", "--name", "Ada", "--card", uid, "--json")
    member_id = json.loads(added.stdout)["member_id"]

    permitted = makerbus("rental", "permit", "--card", uid)
    revoked = makerbus("rental", "revoke", "--card", uid)
    again = makerbus("rental", "revoke", "--card", uid)

    assert permitted.stdout == f"Member {member_id} may rent items.\n"
    assert revoked.stdout == f"Member {member_id} may no longer rent items.\n"
    assert again.stdout == f"Member {member_id} had no rental permission.\n"


def test_deactivating_an_unknown_item_fails_with_one_line(makerbus: Makerbus) -> None:
    tid = _tid()

    done = makerbus("rental", "deactivate", tid)

    assert done.exit_code == 1
    assert done.stderr == f"Error: no rental item has TID {tid}\n"


def test_permit_for_an_unknown_card_fails_with_one_line(makerbus: Makerbus) -> None:
    uid = unique_uid()

    done = makerbus("rental", "permit", "--card", uid)

    assert done.exit_code == 1
    assert done.stderr == f"Error: no member has card {uid}\n"
