"""What the operator changes with `makerbus` is in the audit trail as done by `cli`, as the
ledger and the stock movements name it; a PIN or a token typed or printed there never is."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession

from core import audit, members
from core.audit import Event
from core.clock import SystemClock
from tests.factories import TESTER, unique_slug, unique_uid
from tests.makerbus.conftest import InDatabase, Makerbus


def _trail(in_database: InDatabase, entity: str, entity_id: int | str) -> list[Event]:
    async def read(db: AsyncSession) -> list[Event]:
        page = await audit.events(db, limit=10, entity=entity, entity_id=entity_id)
        return list(reversed(page.items))

    return in_database(read)


def test_a_pin_set_from_the_cli_is_recorded_as_the_clis_without_the_pin(
    makerbus: Makerbus, in_database: InDatabase
) -> None:
    uid = unique_uid()
    created = in_database(
        lambda db: members.add_member(
            db, name="Ada", card_uid=uid, now=SystemClock().now(), actor=TESTER
        )
    )

    done = makerbus("member", "pin-set", "--card", uid, "--pin-stdin", input="97531\n")

    events = _trail(in_database, "member", created.member_id)
    assert done.exit_code == 0
    assert [(e.actor.kind, e.actor.id, e.action, e.new_value) for e in events[1:]] == [
        ("person", "cli", "set_pin", "has_pin=true")
    ]
    assert not any("97531" in str(e) for e in events)


def test_an_api_token_made_with_the_cli_is_recorded_without_the_token(
    makerbus: Makerbus, in_database: InDatabase
) -> None:
    name = unique_slug("ci")

    done = makerbus("token", "create", "--name", name, "--role", "admin", "--json")
    revoked = makerbus("token", "revoke", name)

    events = _trail(in_database, "api_token", name)
    assert (done.exit_code, revoked.exit_code) == (0, 0)
    assert [(e.actor.id, e.action, e.new_value) for e in events] == [
        ("cli", "create", "role=admin"),
        ("cli", "revoke", "live=false"),
    ]
    token = json.loads(done.stdout)["token"]
    assert not any(token in str(e) for e in events)
