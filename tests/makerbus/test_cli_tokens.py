"""`makerbus token ...`: what the operator reads, and the exit codes."""

from __future__ import annotations

import json

from tests.factories import unique_slug
from tests.makerbus.conftest import Makerbus


def test_a_token_is_shown_once_listed_by_name_and_revoked(makerbus: Makerbus) -> None:
    name = unique_slug("ci")

    created = makerbus("token", "create", "--name", name, "--role", "admin")
    listed = makerbus("token", "list").stdout.splitlines()
    revoked = makerbus("token", "revoke", name)
    as_json = json.loads(makerbus("token", "list", "--json").stdout)

    headline, secret = created.stdout.splitlines()
    assert headline == f"API token '{name}' (admin); shown once, store it now:"
    assert secret.startswith("mbt_")
    assert f"{name}\tadmin\tlive\tlast used -" in listed
    assert revoked.stdout == f"revoked {name}\n"
    row = next(row for row in as_json if row["name"] == name)
    assert row == {
        "name": name,
        "role": "admin",
        "created_at": row["created_at"],
        "last_used_at": None,
        "revoked_at": row["revoked_at"],
    }
    assert row["revoked_at"] is not None


def test_token_create_as_json_holds_the_secret(makerbus: Makerbus) -> None:
    name = unique_slug("ci")

    created = json.loads(
        makerbus("token", "create", "--name", name, "--role", "admin", "--json").stdout
    )

    assert created == {"name": name, "role": "admin", "token": created["token"]}
    assert created["token"].startswith("mbt_")


def test_revoking_an_unknown_token_fails_with_one_line(makerbus: Makerbus) -> None:
    done = makerbus("token", "revoke", "no-such-token")

    assert done.exit_code == 1
    assert done.stderr == "Error: no live token named 'no-such-token'\n"
