"""Admin machines over HTTP: tariffs, authorizations with own prices, sub-admins, sessions.

The rules everything here turns on: a sub-admin of machine A manages A's authorizations and
sessions and cannot touch machine B; prices are the admin's, and no sub-admin touches their own
authorization.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.session_tokens import Role
from core import machines, sessions
from core.billing import Tariff, TariffOverride
from core.clock import FrozenClock
from core.devices import DeviceRef
from core.errors import NotAuthorized, SessionClosed
from core.formats import PRICE_MAX_CENTS, DeviceKind
from core.members import NewMember, link_login
from core.models import MachineSession, Member
from core.settings import WEB_SECRET_FIELDS, Settings
from tests.api.conftest import ORIGIN, Headers, SessionFor
from tests.e2e.stack import Stack, wait_until
from tests.factories import (
    T0,
    TESTER,
    assert_ledger_matches_balances,
    grant,
    make_device,
    make_machine,
    make_member,
    unique_slug,
)
from tests.secrets_for_tests import TEST_SECRETS

API = "/api/v1/admin"
WEB_SECRETS = {key: TEST_SECRETS[key] for key in WEB_SECRET_FIELDS}
HEARTBEAT = timedelta(seconds=30)


@pytest.fixture
def app(api_settings: Settings, clock: FrozenClock) -> FastAPI:
    """The app on a frozen clock, so that a test can let a session run for minutes."""
    return create_app(api_settings, clock=clock)


@dataclass(frozen=True)
class Lab:
    """Machines A and B, a sub-admin of A only, and a member authorized on both."""

    a: DeviceRef
    b: DeviceRef
    sub_admin: Headers
    member: NewMember


@pytest.fixture
async def lab(committed_db: AsyncSession, session_for: SessionFor) -> Lab:
    a, b = await make_machine(committed_db), await make_machine(committed_db)
    subject = unique_slug("sub")
    await machines.add_sub_admin(committed_db, a.id, subject, now=T0, actor=TESTER)
    member = await make_member(committed_db, balance_cents=1000)
    await grant(committed_db, a, member)
    await grant(committed_db, b, member)
    await committed_db.commit()
    return Lab(a, b, session_for(subject), member)


async def _newcomer(db: AsyncSession, lab: Lab) -> tuple[NewMember, str]:
    """A committed member with 10.00 whom machine A knows nothing of, and the URL of their
    authorization on A."""
    newcomer = await make_member(db, name="Newcomer", balance_cents=1000)
    await db.commit()
    return newcomer, f"{API}/machines/{lab.a.slug}/authorizations/{newcomer.member_id}"


class Starter:
    """Starts sessions as a machine would, and leaves none open or untold after the test:
    the database is shared, and other tests reap or announce whatever they find there."""

    def __init__(self, db: AsyncSession, clock: FrozenClock) -> None:
        self.db = db
        self.clock = clock
        self.session_ids: list[int] = []

    async def __call__(self, machine: DeviceRef, member: NewMember) -> int:
        assert member.card_uid is not None
        running = await sessions.start(
            self.db,
            device_id=machine.id,
            card_uid=member.card_uid,
            now=self.clock.now(),
            heartbeat_period=HEARTBEAT,
            request_id=None,
        )
        await self.db.commit()
        self.session_ids.append(running.session_id)
        return running.session_id

    async def tidy(self) -> None:
        await self.db.rollback()
        for session_id in self.session_ids:
            with contextlib.suppress(SessionClosed):
                await sessions.admin_end(
                    self.db, session_id=session_id, now=self.clock.now(), actor=TESTER
                )
        await sessions.mark_told(self.db, self.session_ids, now=self.clock.now())
        await self.db.commit()


@pytest.fixture
async def start(committed_db: AsyncSession, clock: FrozenClock) -> AsyncIterator[Starter]:
    starter = Starter(committed_db, clock)
    yield starter
    await starter.tidy()


async def _balance(db: AsyncSession, member: NewMember) -> int:
    balance = await db.scalar(select(Member.balance_cents).where(Member.id == member.member_id))
    assert balance is not None
    return balance


async def test_an_admin_sets_a_tariff_that_the_machine_list_and_tariff_show(
    client: httpx.AsyncClient, committed_db: AsyncSession, admin: Headers
) -> None:
    machine = await make_device(committed_db)
    await committed_db.commit()
    prices = {"login_fee_cents": 50, "price_per_minute_cents": 12, "interval_min": 10}

    before = await client.get(f"{API}/machines/{machine.slug}/tariff", headers=admin)
    put = await client.put(f"{API}/machines/{machine.slug}/tariff", json=prices, headers=admin)
    got = await client.get(f"{API}/machines/{machine.slug}/tariff", headers=admin)
    listed = (await client.get(f"{API}/machines", headers=admin)).json()

    assert before.status_code == 404
    assert put.status_code == 200
    tariff = got.json()
    assert {key: tariff[key] for key in prices} == prices
    assert tariff["updated_at"] == "2026-11-21T09:00:00Z"
    assert tariff["updated_by"].startswith("admin-")
    assert {"slug": machine.slug, "name": machine.name, "enabled": True, "tariff": prices} in listed


async def test_an_admin_grants_own_prices_that_the_next_session_is_charged(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    lab: Lab,
    admin: Headers,
    start: Starter,
) -> None:
    newcomer, url = await _newcomer(committed_db, lab)

    granted = await client.put(
        url, json={"login_fee_cents": 0, "price_per_minute_cents": 5}, headers=admin
    )
    await start(lab.a, newcomer)

    assert granted.status_code == 201
    body = granted.json()
    assert body["member_name"] == "Newcomer"
    assert (body["login_fee_cents"], body["price_per_minute_cents"], body["interval_min"]) == (
        0,
        5,
        None,
    )
    # The machine's tariff is 1.00 + 0.20/min every 15 min; the member's own: 0 + 0.05/min.
    assert body["effective"] == {
        "login_fee_cents": 0,
        "price_per_minute_cents": 5,
        "interval_min": 15,
    }
    assert await _balance(committed_db, newcomer) == 1000 - 15 * 5


async def test_granting_again_replaces_the_own_prices(
    client: httpx.AsyncClient, lab: Lab, admin: Headers
) -> None:
    url = f"{API}/machines/{lab.a.slug}/authorizations/{lab.member.member_id}"
    await client.put(url, json={"price_per_minute_cents": 1}, headers=admin)

    again = await client.put(url, json={"interval_min": 5}, headers=admin)
    plain = await client.put(url, headers=admin)

    assert again.status_code == 200
    assert again.json()["effective"] == {
        "login_fee_cents": 100,
        "price_per_minute_cents": 20,
        "interval_min": 5,
    }
    assert plain.status_code == 200
    assert plain.json()["interval_min"] is None


@dataclass(frozen=True)
class Keeper:
    """A sub-admin of machine A who is a member too: their login is linked to that member."""

    member: NewMember
    headers: Headers


@pytest.fixture
async def keeper(committed_db: AsyncSession, session_for: SessionFor, lab: Lab) -> Keeper:
    subject = unique_slug("keeper")
    member = await make_member(committed_db, name="Keeper", balance_cents=1000)
    await link_login(committed_db, member.member_id, subject, actor=TESTER, now=T0)
    await machines.add_sub_admin(committed_db, lab.a.id, subject, now=T0, actor=TESTER)
    await committed_db.commit()
    return Keeper(member, session_for(subject))


def _refusal(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json().get("error", "")


async def test_a_sub_admin_gets_403_granting_themselves_the_machine(
    client: httpx.AsyncClient, lab: Lab, keeper: Keeper
) -> None:
    url = f"{API}/machines/{lab.a.slug}/authorizations/{keeper.member.member_id}"

    plain = await client.put(url, headers=keeper.headers)
    free = await client.put(url, json={"price_per_minute_cents": 0}, headers=keeper.headers)

    assert _refusal(plain) == _refusal(free) == (403, "own_authorization")
    assert "their own authorization" in plain.json()["detail"]
    assert (await client.get(url, headers=keeper.headers)).status_code == 404


async def test_a_sub_admin_gets_403_changing_or_revoking_their_own_authorization(
    client: httpx.AsyncClient, lab: Lab, keeper: Keeper, admin: Headers
) -> None:
    url = f"{API}/machines/{lab.a.slug}/authorizations/{keeper.member.member_id}"
    await client.put(url, json={"price_per_minute_cents": 10}, headers=admin)

    answers = [
        await client.put(url, headers=keeper.headers),
        await client.put(url, json={"price_per_minute_cents": 0}, headers=keeper.headers),
        await client.delete(url, headers=keeper.headers),
    ]

    assert [_refusal(answer) for answer in answers] == [(403, "own_authorization")] * 3
    assert (await client.get(url, headers=admin)).json()["price_per_minute_cents"] == 10


@pytest.mark.parametrize(
    "own_prices",
    [
        {"price_per_minute_cents": 0},
        {"login_fee_cents": 0},
        {"interval_min": 1440},
        {"login_fee_cents": 500, "price_per_minute_cents": 50, "interval_min": 15},
    ],
)
async def test_a_sub_admin_gets_403_setting_own_prices_for_a_member(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    lab: Lab,
    own_prices: dict[str, int],
) -> None:
    _, url = await _newcomer(committed_db, lab)

    refused = await client.put(url, json=own_prices, headers=lab.sub_admin)

    assert _refusal(refused) == (403, "prices_admin_only")
    assert "machine's tariff" in refused.json()["detail"]
    assert (await client.get(url, headers=lab.sub_admin)).status_code == 404


async def test_a_sub_admin_gets_403_replacing_or_revoking_own_prices_an_admin_set(
    client: httpx.AsyncClient, lab: Lab, admin: Headers
) -> None:
    url = f"{API}/machines/{lab.a.slug}/authorizations/{lab.member.member_id}"
    await client.put(url, json={"price_per_minute_cents": 50}, headers=admin)

    regrant = await client.put(url, headers=lab.sub_admin)
    revoke = await client.delete(url, headers=lab.sub_admin)

    assert _refusal(regrant) == _refusal(revoke) == (403, "prices_admin_only")
    assert (await client.get(url, headers=admin)).json()["price_per_minute_cents"] == 50


async def test_an_admin_who_also_keeps_the_machine_grants_themselves_own_prices(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    lab: Lab,
    session_for: SessionFor,
) -> None:
    subject = unique_slug("boss")
    boss = await make_member(committed_db, name="Boss")
    await link_login(committed_db, boss.member_id, subject, actor=TESTER, now=T0)
    await machines.add_sub_admin(committed_db, lab.a.id, subject, now=T0, actor=TESTER)
    await committed_db.commit()
    url = f"{API}/machines/{lab.a.slug}/authorizations/{boss.member_id}"
    as_admin = session_for(subject, Role.ADMIN)

    granted = await client.put(url, json={"price_per_minute_cents": 0}, headers=as_admin)
    revoked = await client.delete(url, headers=as_admin)

    assert granted.status_code == 201
    assert granted.json()["effective"]["price_per_minute_cents"] == 0
    assert revoked.status_code == 204


async def test_a_sub_admin_grants_another_member_who_is_charged_the_machines_tariff(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    lab: Lab,
    start: Starter,
) -> None:
    newcomer, url = await _newcomer(committed_db, lab)

    granted = await client.put(url, headers=lab.sub_admin)
    again = await client.put(
        url, json={"login_fee_cents": None, "interval_min": None}, headers=lab.sub_admin
    )
    await start(lab.a, newcomer)

    assert (granted.status_code, again.status_code) == (201, 200)
    body = again.json()
    assert (body["login_fee_cents"], body["price_per_minute_cents"], body["interval_min"]) == (
        None,
        None,
        None,
    )
    assert body["effective"] == {
        "login_fee_cents": 100,
        "price_per_minute_cents": 20,
        "interval_min": 15,
    }
    assert await _balance(committed_db, newcomer) == 1000 - 100 - 15 * 20


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("login_fee_cents", -1),
        ("price_per_minute_cents", -20),
        ("price_per_minute_cents", PRICE_MAX_CENTS + 1),
        ("login_fee_cents", 2**70),
        ("interval_min", 0),
        ("interval_min", 1441),
    ],
)
async def test_an_admin_can_never_set_a_negative_or_out_of_range_own_price(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    lab: Lab,
    admin: Headers,
    field: str,
    value: int,
) -> None:
    _, url = await _newcomer(committed_db, lab)

    refused = await client.put(url, json={field: value}, headers=admin)

    assert refused.status_code == 422
    assert [error["loc"][-1] for error in refused.json()["detail"]] == [field]
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_core_refuses_out_of_range_own_prices_from_any_caller(
    committed_db: AsyncSession, lab: Lab
) -> None:
    for override in (
        TariffOverride(login_fee_cents=-1),
        TariffOverride(price_per_minute_cents=PRICE_MAX_CENTS + 1),
        TariffOverride(interval_min=0),
    ):
        with pytest.raises(ValueError, match=r"negative|exceed|interval"):
            await machines.authorize(
                committed_db,
                device_id=lab.a.id,
                member_id=lab.member.member_id,
                override=override,
                now=T0,
                actor=TESTER,
            )
    await committed_db.rollback()


async def test_a_sub_admin_reads_the_tariff_but_cannot_change_it_or_the_sub_admins(
    client: httpx.AsyncClient, lab: Lab
) -> None:
    base = f"{API}/machines/{lab.a.slug}"
    prices = {"login_fee_cents": 0, "price_per_minute_cents": 0, "interval_min": 1}

    read = await client.get(f"{base}/tariff", headers=lab.sub_admin)
    answers = [
        await client.put(f"{base}/tariff", json=prices, headers=lab.sub_admin),
        await client.get(f"{base}/admins", headers=lab.sub_admin),
        await client.post(f"{base}/admins", json={"subject": "mallory"}, headers=lab.sub_admin),
        await client.delete(f"{base}/admins/someone", headers=lab.sub_admin),
    ]

    assert read.json()["price_per_minute_cents"] == 20
    assert [a.status_code for a in answers] == [403] * 4


async def test_a_sub_admin_of_machine_a_cannot_touch_machine_b(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    lab: Lab,
    clock: FrozenClock,
    start: Starter,
) -> None:
    on_b = await start(lab.b, lab.member)
    other = await make_member(committed_db)
    await committed_db.commit()
    b = f"{API}/machines/{lab.b.slug}"
    member_on_b = f"{b}/authorizations/{lab.member.member_id}"
    headers = lab.sub_admin

    answers = {
        "list machines": await client.get(f"{API}/machines", headers=headers),
        "tariff": await client.get(f"{b}/tariff", headers=headers),
        "authorizations": await client.get(f"{b}/authorizations", headers=headers),
        "authorization": await client.get(member_on_b, headers=headers),
        "grant": await client.put(
            f"{b}/authorizations/{other.member_id}", json={}, headers=headers
        ),
        "own prices": await client.put(member_on_b, json={"login_fee_cents": 0}, headers=headers),
        "revoke": await client.delete(member_on_b, headers=headers),
        "sessions of b": await client.get(
            f"{API}/sessions", params={"machine": lab.b.slug}, headers=headers
        ),
        "all sessions": await client.get(f"{API}/sessions", headers=headers),
        "session": await client.get(f"{API}/sessions/{on_b}", headers=headers),
        "end": await client.post(f"{API}/sessions/{on_b}/end", headers=headers),
        "unknown machine": await client.get(
            f"{API}/machines/no-such-machine/tariff", headers=headers
        ),
        "unknown session": await client.post(f"{API}/sessions/{2**62}/end", headers=headers),
    }

    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        **dict.fromkeys(answers, 403),
        "list machines": 200,
        "all sessions": 200,
    }
    assert [m["slug"] for m in answers["list machines"].json()] == [lab.a.slug]
    assert on_b not in [s["session_id"] for s in answers["all sessions"].json()["items"]]
    granted = await machines.authorizations(committed_db, lab.b.id, limit=10)
    assert [g.member_id for g in granted] == [lab.member.member_id]
    assert granted[0].override == TariffOverride()
    ended_at = await committed_db.scalar(
        select(MachineSession.ended_at).where(MachineSession.id == on_b)
    )
    assert ended_at is None


async def test_without_a_machine_to_manage_it_is_403_and_without_login_401(
    client: httpx.AsyncClient, lab: Lab, session_for: SessionFor
) -> None:
    nobody = session_for(unique_slug("member"))
    routes = [
        ("GET", f"{API}/machines"),
        ("GET", f"{API}/machines/{lab.a.slug}/tariff"),
        ("GET", f"{API}/machines/{lab.a.slug}/authorizations"),
        ("PUT", f"{API}/machines/{lab.a.slug}/authorizations/{lab.member.member_id}"),
        ("DELETE", f"{API}/machines/{lab.a.slug}/authorizations/{lab.member.member_id}"),
        ("GET", f"{API}/sessions"),
        ("POST", f"{API}/sessions/1/end"),
    ]

    refused = [(await client.request(m, url, headers=nobody)).status_code for m, url in routes]
    anonymous = [(await client.request(m, url)).status_code for m, url in routes]

    assert refused == [403] * len(routes)
    assert anonymous == [401] * len(routes)


async def test_an_admin_names_sub_admins_who_then_manage_the_machine(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    admin: Headers,
    session_for: SessionFor,
) -> None:
    machine = await make_machine(committed_db)
    await committed_db.commit()
    subject = f"auth0|{unique_slug('x')}/team"
    base = f"{API}/machines/{machine.slug}"
    as_subject = session_for(subject)

    before = await client.get(f"{base}/authorizations", headers=as_subject)
    added = await client.post(f"{base}/admins", json={"subject": subject}, headers=admin)
    twice = await client.post(f"{base}/admins", json={"subject": subject}, headers=admin)
    listed = await client.get(f"{base}/admins", headers=admin)
    managing = await client.get(f"{base}/authorizations", headers=as_subject)
    removed = await client.delete(f"{base}/admins/{subject}", headers=admin)
    after = await client.get(f"{base}/authorizations", headers=as_subject)
    removed_again = await client.delete(f"{base}/admins/{subject}", headers=admin)

    assert before.status_code == 403
    assert added.status_code == 201
    assert (twice.status_code, twice.json()["error"]) == (409, "conflict")
    assert [s["subject"] for s in listed.json()] == [subject]
    assert managing.status_code == 200
    assert removed.status_code == 204
    assert after.status_code == 403
    assert removed_again.status_code == 404


@pytest.mark.parametrize("subject", ["", "has space", "nul\x00", "ü", "x" * 256])
async def test_a_sub_admin_subject_must_be_printable_ascii(
    client: httpx.AsyncClient, lab: Lab, admin: Headers, subject: str
) -> None:
    answer = await client.post(
        f"{API}/machines/{lab.a.slug}/admins", json={"subject": subject}, headers=admin
    )

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "subject"]


async def test_an_admin_ends_a_session_which_is_billed_and_waits_for_the_device_to_be_told(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    lab: Lab,
    admin: Headers,
    clock: FrozenClock,
    start: Starter,
) -> None:
    session_id = await start(lab.a, lab.member)
    clock.advance(timedelta(minutes=7, seconds=10))

    ended = await client.post(f"{API}/sessions/{session_id}/end", headers=admin)
    again = await client.post(f"{API}/sessions/{session_id}/end", headers=admin)

    assert ended.status_code == 200
    body = ended.json()
    # 1.00 login fee + 8 started minutes at 0.20; of the 15 prepaid minutes 7 come back.
    assert (body["is_open"], body["end_reason"], body["duration_s"]) == (False, "admin", 430)
    assert (body["total_cents"], body["refund_cents"], body["charged_cents"]) == (260, 140, 260)
    assert body["device_told_at"] is None
    assert await _balance(committed_db, lab.member) == 1000 - 260
    untold = await sessions.untold(committed_db, limit=10_000)
    await committed_db.rollback()
    assert [(n.device_slug, n.reason) for n in untold if n.session_id == session_id] == [
        (lab.a.slug, "admin")
    ]
    assert (again.status_code, again.json()["error"]) == (409, "session_closed")
    await assert_ledger_matches_balances(committed_db)


async def test_a_sub_admin_sees_and_ends_the_sessions_of_their_machine(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    lab: Lab,
    clock: FrozenClock,
    start: Starter,
) -> None:
    on_a = await start(lab.a, lab.member)
    clock.advance(timedelta(seconds=30))

    listed = await client.get(f"{API}/sessions", params={"open": "true"}, headers=lab.sub_admin)
    ended = await client.post(f"{API}/sessions/{on_a}/end", headers=lab.sub_admin)
    still_open = await client.get(f"{API}/sessions", params={"open": "true"}, headers=lab.sub_admin)

    assert [(s["session_id"], s["machine"], s["is_open"]) for s in listed.json()["items"]] == [
        (on_a, lab.a.slug, True)
    ]
    assert listed.json()["items"][0]["charged_cents"] == 100 + 15 * 20
    assert (ended.status_code, ended.json()["total_cents"]) == (200, 100 + 20)
    assert still_open.json()["items"] == []


async def test_authorizations_and_sessions_are_paged_newest_first(
    client: httpx.AsyncClient,
    committed_db: AsyncSession,
    admin: Headers,
    clock: FrozenClock,
    start: Starter,
) -> None:
    machine = await make_machine(committed_db)
    members = [await make_member(committed_db, balance_cents=1000) for _ in range(3)]
    for member in members:
        await grant(committed_db, machine, member)
    session_ids = []
    for member in members:
        session_ids.append(await start(machine, member))
        await sessions.admin_end(
            committed_db, session_id=session_ids[-1], now=clock.now(), actor=TESTER
        )
    await committed_db.commit()
    grants = f"{API}/machines/{machine.slug}/authorizations"
    ended = {"machine": machine.slug, "open": "false"}

    first = (await client.get(grants, params={"limit": 2}, headers=admin)).json()
    rest = (
        await client.get(
            grants, params={"limit": 2, "before_id": first["next_before_id"]}, headers=admin
        )
    ).json()
    sessions_first = (
        await client.get(f"{API}/sessions", params={**ended, "limit": 2}, headers=admin)
    ).json()
    sessions_rest = (
        await client.get(
            f"{API}/sessions",
            params={**ended, "limit": 2, "before_id": sessions_first["next_before_id"]},
            headers=admin,
        )
    ).json()

    newest_first = [m.member_id for m in reversed(members)]
    assert [a["member_id"] for a in first["items"] + rest["items"]] == newest_first
    assert rest["next_before_id"] is None
    assert [s["session_id"] for s in sessions_first["items"] + sessions_rest["items"]] == list(
        reversed(session_ids)
    )
    assert sessions_rest["next_before_id"] is None


async def test_a_revoked_member_cannot_start_the_machine_again(
    client: httpx.AsyncClient, committed_db: AsyncSession, lab: Lab, start: Starter
) -> None:
    url = f"{API}/machines/{lab.a.slug}/authorizations/{lab.member.member_id}"

    revoked = await client.delete(url, headers=lab.sub_admin)
    again = await client.delete(url, headers=lab.sub_admin)

    assert (revoked.status_code, again.status_code) == (204, 404)
    with pytest.raises(NotAuthorized):
        await start(lab.a, lab.member)
    await committed_db.rollback()


async def test_unknown_members_machines_and_other_device_kinds_are_404_for_an_admin(
    client: httpx.AsyncClient, committed_db: AsyncSession, lab: Lab, admin: Headers
) -> None:
    checkout = await make_device(committed_db, kind=DeviceKind.CHECKOUT)
    await committed_db.commit()

    answers = [
        await client.put(f"{API}/machines/{lab.a.slug}/authorizations/{2**62}", headers=admin),
        await client.get(f"{API}/machines/no-such-machine/tariff", headers=admin),
        await client.get(f"{API}/machines/{checkout.slug}/authorizations", headers=admin),
        await client.post(f"{API}/sessions/{2**62}/end", headers=admin),
    ]

    assert [a.status_code for a in answers] == [404] * 4


async def test_prices_and_ids_beyond_their_bounds_are_422_naming_the_field(
    client: httpx.AsyncClient, lab: Lab, admin: Headers
) -> None:
    tariff = f"{API}/machines/{lab.a.slug}/tariff"
    prices = {"login_fee_cents": 0, "price_per_minute_cents": 0, "interval_min": 1}

    answers = {
        "interval_min": await client.put(
            tariff, json={**prices, "interval_min": 1441}, headers=admin
        ),
        "price_per_minute_cents": await client.put(
            tariff, json={**prices, "price_per_minute_cents": -1}, headers=admin
        ),
        "extra": await client.put(tariff, json={**prices, "extra": 1}, headers=admin),
        "member_id": await client.get(
            f"{API}/machines/{lab.a.slug}/authorizations/{2**63}", headers=admin
        ),
        "session_id": await client.post(f"{API}/sessions/0/end", headers=admin),
        "slug": await client.get(f"{API}/machines/Bad_Slug/tariff", headers=admin),
        "limit": await client.get(f"{API}/sessions", params={"limit": 201}, headers=admin),
    }

    named = {name: answer.json()["detail"][0]["loc"][-1] for name, answer in answers.items()}
    assert {answer.status_code for answer in answers.values()} == {422}
    assert named == {name: name for name in answers}
    assert (await client.get(tariff, headers=admin)).json()["interval_min"] == 15


@pytest.mark.mqtt
def test_an_api_end_reaches_the_running_machine_on_cmd_session_terminate(
    database_url: str, tmp_path: Path
) -> None:
    stack = Stack.create(database_url, tmp_path)
    try:
        machine = stack.machine(
            Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)
        )
        member = stack.add_member(balance_cents=1000)
        stack.authorize(machine, member)
        device = stack.device(machine)
        commands: list[tuple[str, dict[str, object]]] = []
        device.on_command(lambda name, payload: commands.append((name, payload)))
        opened = device.request("session/start", card=member.card_uid)
        app = create_app(stack.settings.model_copy(update=WEB_SECRETS))
        admin = app.state.signer.issue(
            subject="admin-e2e",
            name="e2e",
            roles=frozenset({Role.ADMIN}),
            now=app.state.clock.now(),
        )

        with TestClient(app, base_url=ORIGIN) as http:
            ended = http.post(
                f"{API}/sessions/{opened['session_id']}/end",
                headers={"Authorization": f"Bearer {admin}"},
            )

        assert ended.status_code == 200
        assert wait_until(lambda: commands, 10.0), "the machine was not told"
        name, payload = commands[0]
        assert (name, payload["session_id"], payload["reason"]) == (
            "session/terminate",
            opened["session_id"],
            "admin",
        )
        assert payload["total_cents"] == ended.json()["total_cents"] == 100 + 20  # 1 minute
        stack.check_ledger()
    finally:
        stack.stop()
