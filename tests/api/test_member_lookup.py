"""A machine's sub-admin finds the member to grant by name or card, and learns nothing more."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import machines, members
from core.devices import DeviceRef
from core.members import NewMember
from tests.api.conftest import Headers, SessionFor
from tests.factories import T0, TESTER, grant, make_machine, make_member, unique_slug

API = "/api/v1/admin"
MATCH_FIELDS = {"id", "name", "card_endings", "authorized"}


@dataclass(frozen=True)
class Workshop:
    """A machine kept by a sub-admin, a rich member on it and a namesake who is not."""

    machine: DeviceRef
    sub_admin: Headers
    surname: str
    member: NewMember
    namesake: NewMember

    @property
    def url(self) -> str:
        return f"{API}/machines/{self.machine.slug}/members"


@pytest.fixture
async def workshop(committed_db: AsyncSession, session_for: SessionFor) -> Workshop:
    machine = await make_machine(committed_db)
    subject = unique_slug("keeper")
    await machines.add_sub_admin(committed_db, machine.id, subject, now=T0, actor=TESTER)
    surname = unique_slug("Lookup")
    member = await make_member(committed_db, name=f"Ada {surname}", balance_cents=98765)
    await members.set_contact(
        committed_db,
        member.member_id,
        name=f"Ada {surname}",
        email=f"{surname}@example.org",
        actor=TESTER,
        now=T0,
    )
    await grant(committed_db, machine, member)
    namesake = await make_member(committed_db, name=f"Alan {surname}", balance_cents=4321)
    await committed_db.commit()
    return Workshop(machine, session_for(subject), surname, member, namesake)


async def test_a_sub_admin_finds_members_by_part_of_the_name_without_their_balances(
    client: httpx.AsyncClient, workshop: Workshop
) -> None:
    found = await client.get(
        workshop.url, params={"q": workshop.surname.lower()}, headers=workshop.sub_admin
    )

    assert found.status_code == 200
    items = found.json()["items"]
    assert [(m["id"], m["authorized"]) for m in items] == [
        (workshop.namesake.member_id, False),
        (workshop.member.member_id, True),
    ]
    assert all(set(m) == MATCH_FIELDS for m in items)
    assert workshop.member.card_uid is not None
    assert items[1]["card_endings"] == [workshop.member.card_uid[-4:]]
    for secret in ("98765", "4321", "example.org", workshop.member.card_uid):
        assert secret not in found.text


async def test_a_sub_admin_finds_a_member_by_the_whole_card_uid_only(
    client: httpx.AsyncClient, workshop: Workshop
) -> None:
    uid = workshop.member.card_uid
    assert uid is not None

    by_card = await client.get(
        workshop.url, params={"q": f" {uid.lower()} "}, headers=workshop.sub_admin
    )
    by_part = await client.get(workshop.url, params={"q": uid[:8]}, headers=workshop.sub_admin)

    assert [m["name"] for m in by_card.json()["items"]] == [f"Ada {workshop.surname}"]
    assert by_part.json()["items"] == []


async def test_the_lookup_is_for_the_machines_sub_admins_and_admins_only(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    workshop: Workshop,
    admin: Headers,
    session_for: SessionFor,
) -> None:
    other = await make_machine(committed_db)
    await committed_db.commit()
    params = {"q": workshop.surname}
    other_url = f"{API}/machines/{other.slug}/members"

    answers = {
        "admin": await client.get(workshop.url, params=params, headers=admin),
        "other machine": await client.get(other_url, params=params, headers=workshop.sub_admin),
        "member": await client.get(
            workshop.url, params=params, headers=session_for(unique_slug("member"))
        ),
        "anonymous": await client.get(workshop.url, params=params),
    }

    assert {name: answer.status_code for name, answer in answers.items()} == {
        "admin": 200,
        "other machine": 403,
        "member": 403,
        "anonymous": 401,
    }
    assert len(answers["admin"].json()["items"]) == 2


@pytest.mark.parametrize("q", [None, "", "a", "  b  ", "x" * 201, "nul\x00"])
async def test_a_lookup_without_two_characters_to_look_for_is_422_naming_q(
    client: httpx.AsyncClient, workshop: Workshop, q: str | None
) -> None:
    params = {} if q is None else {"q": q}

    refused = await client.get(workshop.url, params=params, headers=workshop.sub_admin)

    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["query", "q"]
