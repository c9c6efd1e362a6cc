"""Self-service: a member sees only their own data; another member's ids are 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import bank, cards, machines, members, rentals, sessions
from core.billing import Tariff, TariffOverride
from core.errors import CardBlocked
from core.formats import DeviceKind
from core.models import Card
from core.origin import Origin
from tests.api.conftest import SESSION_COOKIE, Headers, LinkedMember, SessionFor
from tests.factories import T0, TESTER, make_device, make_machine, unique_slug, unique_uid

HEARTBEAT = timedelta(seconds=30)
ME_ROUTES = [
    "/api/v1/me",
    "/api/v1/me/ledger",
    "/api/v1/me/sessions",
    "/api/v1/me/rentals",
    "/api/v1/me/machines",
    "/api/v1/me/cards",
]


async def _card_of(db: AsyncSession, member_id: int) -> str:
    uid = await db.scalar(select(Card.uid).where(Card.member_id == member_id))
    assert uid is not None
    return uid


async def _grant(
    db: AsyncSession, device_id: int, member_id: int, override: TariffOverride | None = None
) -> None:
    await machines.authorize(
        db,
        device_id=device_id,
        member_id=member_id,
        override=override or TariffOverride(),
        now=T0,
        actor=TESTER,
    )


async def _all_pages(client: httpx.AsyncClient, url: str, headers: Headers) -> list[Any]:
    items: list[Any] = []
    before: int | None = None
    while True:
        params = {"limit": 2} if before is None else {"limit": 2, "before_id": before}
        page = (await client.get(url, params=params, headers=headers)).json()
        assert len(page["items"]) <= 2
        items += page["items"]
        before = page["next_before_id"]
        if before is None:
            return items


async def test_me_shows_the_members_own_profile_and_balance(
    client: httpx.AsyncClient, linked_member: LinkedMember
) -> None:
    member_id, headers = await linked_member(name="Grace Hopper", balance_cents=1234)

    response = await client.get("/api/v1/me", headers=headers)

    assert response.status_code == 200
    assert response.json() == {
        "id": member_id,
        "name": "Grace Hopper",
        "email": None,
        "balance_cents": 1234,
        "credit_limit_cents": 0,
        "has_pin": False,
        "currency": "EUR",
    }


@pytest.mark.parametrize("route", ME_ROUTES)
async def test_me_routes_are_401_without_login_and_403_for_a_login_linked_to_no_member(
    client: httpx.AsyncClient, session_for: SessionFor, admin: Headers, route: str
) -> None:
    anonymous = await client.get(route)
    unlinked = await client.get(route, headers=session_for(unique_slug("nobody")))
    unlinked_admin = await client.get(route, headers=admin)

    assert anonymous.status_code == 401
    assert unlinked.status_code == 403
    assert "link a card" in unlinked.json()["detail"]
    assert unlinked_admin.status_code == 403


async def test_the_ledger_is_paged_newest_first_with_only_a_counterpartys_name(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    ada_id, ada = await linked_member(name="Ada", balance_cents=1000)
    bob_id, bob = await linked_member(name="Bob", balance_cents=500)
    bankomat = await make_device(committed_db, kind=DeviceKind.BANKOMAT)
    origin = Origin(now=T0, device_id=bankomat.id, request_id="req-1")
    ada_card, bob_card = await _card_of(committed_db, ada_id), await _card_of(committed_db, bob_id)
    for amount in (100, 200, 300):
        await bank.transfer(
            committed_db,
            card_uid=ada_card,
            to_card_uid=bob_card,
            amount_cents=amount,
            origin=origin,
        )
    await committed_db.commit()

    entries = await _all_pages(client, "/api/v1/me/ledger", ada)
    bobs = await _all_pages(client, "/api/v1/me/ledger", bob)

    assert [(e["kind"], e["amount_cents"], e["balance_after_cents"]) for e in entries] == [
        ("transfer_out", -300, 400),
        ("transfer_out", -200, 700),
        ("transfer_out", -100, 900),
        ("opening", 1000, 1000),
    ]
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    transfer = entries[0]
    assert (transfer["counterparty_name"], transfer["device_slug"]) == ("Bob", bankomat.slug)
    assert "actor" not in transfer
    assert "request_id" not in transfer
    assert "member_id" not in transfer
    assert [e["kind"] for e in bobs] == ["transfer_in"] * 3 + ["opening"]
    assert not {e["id"] for e in entries} & {e["id"] for e in bobs}


async def test_the_ledger_filtered_by_kind_shows_only_that_kind(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    member_id, headers = await linked_member(balance_cents=1000)
    await members.correct_balance(
        committed_db, member_id, -250, reason="broken drill bit", now=T0, actor=TESTER
    )
    await committed_db.commit()

    corrections = await client.get("/api/v1/me/ledger?kind=correction", headers=headers)
    unknown = await client.get("/api/v1/me/ledger?kind=gift", headers=headers)

    assert [(e["kind"], e["amount_cents"]) for e in corrections.json()["items"]] == [
        ("correction", -250)
    ]
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["query", "kind"]


async def test_sessions_show_open_and_ended_ones_with_what_they_charged(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    member_id, headers = await linked_member(balance_cents=10_000)
    _, other = await linked_member(balance_cents=10_000)
    card = await _card_of(committed_db, member_id)
    laser, lathe = await make_machine(committed_db), await make_machine(committed_db)
    for machine in (laser, lathe):
        await _grant(committed_db, machine.id, member_id)
    ended = await sessions.start(
        committed_db,
        device_id=laser.id,
        card_uid=card,
        now=T0,
        heartbeat_period=HEARTBEAT,
        request_id=None,
    )
    await sessions.end(
        committed_db,
        device_id=laser.id,
        session_id=ended.session_id,
        now=T0 + timedelta(seconds=90),
        request_id=None,
    )
    running = await sessions.start(
        committed_db,
        device_id=lathe.id,
        card_uid=card,
        now=T0 + timedelta(minutes=5),
        heartbeat_period=HEARTBEAT,
        request_id=None,
    )
    await committed_db.commit()

    page = (await client.get("/api/v1/me/sessions", headers=headers)).json()
    others = (await client.get("/api/v1/me/sessions", headers=other)).json()

    newest, oldest = page["items"]
    assert page["next_before_id"] is None
    assert (newest["id"], newest["machine_slug"], newest["open"]) == (
        running.session_id,
        lathe.slug,
        True,
    )
    # An open session has charged the login fee and the prepaid 15 minutes at 0.20 so far.
    assert newest["charged_cents"] == 100 + 15 * 20
    assert newest["tariff"] == {
        "login_fee_cents": 100,
        "price_per_minute_cents": 20,
        "interval_min": 15,
        "start_cents": 400,
    }
    # An ended one cost the login fee and two started minutes.
    assert (oldest["id"], oldest["open"], oldest["charged_cents"]) == (
        ended.session_id,
        False,
        100 + 2 * 20,
    )
    assert oldest["duration_s"] == 90
    assert others["items"] == []


async def test_machines_show_the_tariff_that_applies_to_the_member(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    member_id, headers = await linked_member()
    other_id, other = await linked_member()
    cheaper = await make_machine(committed_db, Tariff(100, 20, 15))
    standard = await make_machine(committed_db, Tariff(50, 10, 30))
    unpriced = await make_device(committed_db, kind=DeviceKind.MACHINE)
    not_mine = await make_machine(committed_db)
    await _grant(committed_db, cheaper.id, member_id, TariffOverride(price_per_minute_cents=5))
    await _grant(committed_db, standard.id, member_id)
    await _grant(committed_db, unpriced.id, member_id)
    await _grant(committed_db, not_mine.id, other_id)
    await committed_db.commit()

    listed = (await client.get("/api/v1/me/machines", headers=headers)).json()

    by_slug = {machine["slug"]: machine for machine in listed}
    assert set(by_slug) == {cheaper.slug, standard.slug, unpriced.slug}
    assert by_slug[cheaper.slug]["tariff"] == {
        "login_fee_cents": 100,
        "price_per_minute_cents": 5,
        "interval_min": 15,
        "start_cents": 100 + 5 * 15,
    }
    assert by_slug[cheaper.slug]["own_prices"] is True
    assert by_slug[standard.slug]["tariff"]["price_per_minute_cents"] == 10
    assert by_slug[standard.slug]["own_prices"] is False
    assert by_slug[unpriced.slug]["tariff"] is None
    assert [m["slug"] for m in (await client.get("/api/v1/me/machines", headers=other)).json()] == [
        not_mine.slug
    ]


async def test_rentals_show_the_members_items_out_and_returned(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    member_id, headers = await linked_member()
    _, other = await linked_member()
    station = await make_device(committed_db, kind=DeviceKind.RENTAL)
    card = await _card_of(committed_db, member_id)
    await rentals.permit(committed_db, member_id, actor=TESTER, now=T0)
    drill = await rentals.add_item(
        committed_db, tid=unique_uid(), name="Drill", description=None, now=T0, actor=TESTER
    )
    saw = await rentals.add_item(
        committed_db, tid=unique_uid(), name="Saw", description=None, now=T0, actor=TESTER
    )
    await rentals.rent(committed_db, device_id=station.id, card_uid=card, tid=drill.tid, now=T0)
    await rentals.return_item(
        committed_db, device_id=station.id, tid=drill.tid, now=T0 + timedelta(hours=1)
    )
    await rentals.rent(
        committed_db, device_id=station.id, card_uid=card, tid=saw.tid, now=T0 + timedelta(hours=2)
    )
    await committed_db.commit()

    page = (await client.get("/api/v1/me/rentals", headers=headers)).json()
    others = (await client.get("/api/v1/me/rentals", headers=other)).json()

    assert [(r["item_name"], r["returned_at"] is None) for r in page["items"]] == [
        ("Saw", True),
        ("Drill", False),
    ]
    assert others["items"] == []


async def test_a_member_blocks_their_own_lost_card_and_only_that_card(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    member_id, headers = await linked_member(balance_cents=700)
    spare_uid = unique_uid()
    await members.add_card(committed_db, member_id, spare_uid, now=T0, actor=TESTER)
    await committed_db.commit()
    listed = (await client.get("/api/v1/me/cards", headers=headers)).json()
    lost = listed[0]

    blocked = await client.post(f"/api/v1/me/cards/{lost['id']}/block", headers=headers)
    again = await client.post(f"/api/v1/me/cards/{lost['id']}/block", headers=headers)

    assert blocked.status_code == 200
    assert blocked.json() == {**lost, "blocked": True}
    assert again.status_code == 200
    assert again.json()["blocked"] is True
    with pytest.raises(CardBlocked):
        await cards.identify(committed_db, lost["uid"])
    spare = await cards.identify(committed_db, spare_uid)
    assert spare.balance_cents == 700
    await committed_db.rollback()
    after = (await client.get("/api/v1/me/cards", headers=headers)).json()
    assert [(card["uid"], card["blocked"]) for card in after] == [
        (lost["uid"], True),
        (spare_uid, False),
    ]


async def test_another_members_card_is_404_and_stays_unblocked(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    mallory_id, mallory = await linked_member(name="Mallory")
    victim_id, victim = await linked_member(name="Victim")
    victims_card = (await client.get("/api/v1/me/cards", headers=victim)).json()[0]

    unused_id = 2**63 - 1

    refused = await client.post(f"/api/v1/me/cards/{victims_card['id']}/block", headers=mallory)
    missing = await client.post(f"/api/v1/me/cards/{unused_id}/block", headers=mallory)

    # Answered exactly as for a card that does not exist, so it tells nothing about the card.
    assert (refused.status_code, missing.status_code) == (404, 404)
    assert refused.json()["error"] == missing.json()["error"] == "not_found"
    # (Compared whole: replacing the ids by a placeholder failed when her member id happened
    # to equal the victim's card id.)
    assert refused.json()["detail"] == f"member {mallory_id} has no card {victims_card['id']}"
    assert missing.json()["detail"] == f"member {mallory_id} has no card {unused_id}"
    blocked = await committed_db.scalar(select(Card.blocked).where(Card.member_id == victim_id))
    await committed_db.rollback()
    assert blocked is False


async def test_blocking_a_card_is_refused_cross_site_with_the_cookie(
    client: httpx.AsyncClient, committed_db: AsyncSession, linked_member: LinkedMember
) -> None:
    _, headers = await linked_member()
    card = (await client.get("/api/v1/me/cards", headers=headers)).json()[0]
    client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))

    response = await client.post(
        f"/api/v1/me/cards/{card['id']}/block", headers={"Origin": "https://evil.example"}
    )

    assert response.status_code == 403
    assert (await client.get("/api/v1/me/cards")).json()[0]["blocked"] is False


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/me/ledger?limit=0", "limit"),
        ("/api/v1/me/ledger?limit=201", "limit"),
        ("/api/v1/me/sessions?before_id=9223372036854775808", "before_id"),
        ("/api/v1/me/rentals?before_id=0", "before_id"),
        ("/api/v1/me/ledger?before_id=abc", "before_id"),
    ],
)
async def test_paging_parameters_out_of_range_are_422_naming_the_field(
    client: httpx.AsyncClient, linked_member: LinkedMember, url: str, field: str
) -> None:
    _, headers = await linked_member()

    response = await client.get(url, headers=headers)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


async def test_a_card_id_beyond_bigint_is_422_not_a_crash(
    client: httpx.AsyncClient, linked_member: LinkedMember
) -> None:
    _, headers = await linked_member()

    response = await client.post("/api/v1/me/cards/9223372036854775808/block", headers=headers)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "card_id"]
