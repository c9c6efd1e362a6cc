"""Rental stations over the real broker: rent, status, return anywhere, races, retries, the CLI."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from makerbus_device import Answer, DeviceClient
from sqlalchemy import select

from broker.provisioning import Credentials
from core import rentals
from core.clock import SystemClock
from core.formats import DeviceKind
from core.members import NewMember
from core.models import Device, Rental, RentalItem
from makerbus.context import database
from tests.e2e.stack import Stack, run_async
from tests.e2e.test_identify import assert_matches_schema
from tests.factories import TESTER, unique_tid

RACE_ROUNDS = 5


def add_item(stack: Stack, *, name: str = "Cordless drill", description: str | None = None) -> str:
    async def go() -> str:
        async with database(stack.settings) as db:
            item = await rentals.add_item(
                db,
                tid=unique_tid(),
                name=name,
                description=description,
                now=SystemClock().now(),
                actor=TESTER,
            )
            return item.tid

    return run_async(go())


def add_renter(stack: Stack, *, name: str = "Ada Lovelace") -> NewMember:
    member = stack.add_member(name=name)

    async def go() -> None:
        async with database(stack.settings) as db:
            await rentals.permit(db, member.member_id, actor=TESTER, now=SystemClock().now())

    run_async(go())
    return member


def station(stack: Stack, *, mqtt_version: int = 5) -> tuple[Credentials, DeviceClient]:
    credentials = stack.provision(DeviceKind.RENTAL)
    return credentials, stack.device(credentials, mqtt_version=mqtt_version)


def rentals_of(stack: Stack, tid: str) -> list[dict[str, object]]:
    """Every rental of the item, oldest first, with the stations' slugs."""

    async def go() -> list[dict[str, object]]:
        async with database(stack.settings) as db:
            lender, taker = Device.__table__.alias(), Device.__table__.alias()
            rows = await db.execute(
                select(
                    Rental.id,
                    Rental.member_id,
                    Rental.returned_at,
                    lender.c.slug.label("rented_at_station"),
                    taker.c.slug.label("returned_at_station"),
                )
                .join(RentalItem, RentalItem.id == Rental.item_id)
                .outerjoin(lender, lender.c.id == Rental.device_id)
                .outerjoin(taker, taker.c.id == Rental.return_device_id)
                .where(RentalItem.tid == tid)
                .order_by(Rental.id)
            )
            return [dict(row._mapping) for row in rows.all()]

    return run_async(go())


@pytest.mark.parametrize("mqtt_version", [5, 3])
def test_rent_status_and_return_over_mqtt(stack: Stack, mqtt_version: int) -> None:
    _, device = station(stack, mqtt_version=mqtt_version)
    member = add_renter(stack)
    tid = add_item(stack, name="Multimeter", description="Fluke 87V")

    before = device.request("rental/status", tid=tid.lower())
    rented = device.request("rental/rent", card=member.card_uid, tid=tid.lower())
    during = device.request("rental/status", tid=tid)
    returned = device.request("rental/return", tid=tid)

    assert {k: v for k, v in before.raw.items() if k != "id"} == {
        "ok": True,
        "tid": tid,
        "name": "Multimeter",
        "description": "Fluke 87V",
        "out": False,
        "since": None,
        "rental_id": None,
    }
    assert (rented.ok, rented["tid"], rented["name"]) == (True, tid, "Multimeter")
    assert (during["out"], during["since"], during["rental_id"]) == (
        True,
        rented["since"],
        rented["rental_id"],
    )
    assert "member" not in str(during.raw)  # who has it stays private
    assert (returned["rental_id"], returned["tid"]) == (rented["rental_id"], tid)
    assert 0 <= int(str(returned["duration_s"])) < 60
    for op, answer in [("status", before), ("rent", rented), ("status", during)]:
        assert_matches_schema(f"rental.{op}.answer.schema.json", answer.raw)
    assert_matches_schema("rental.return.answer.schema.json", returned.raw)


def test_two_stations_racing_for_one_item_rent_it_once(two_worker_stack: Stack) -> None:
    stack = two_worker_stack
    devices = [station(stack)[1] for _ in range(2)]
    members = [add_renter(stack, name="Ada Lovelace"), add_renter(stack, name="Grace Hopper")]
    tid = add_item(stack)
    barrier = threading.Barrier(2)
    winners: list[int] = []

    def rent(i: int) -> Answer:
        barrier.wait()
        return devices[i].request("rental/rent", card=members[i].card_uid, tid=tid, timeout=20)

    with ThreadPoolExecutor(2) as pool:
        for _ in range(RACE_ROUNDS):
            answers = list(pool.map(rent, range(2)))
            won = [i for i, answer in enumerate(answers) if answer.ok]
            lost = [answer for answer in answers if not answer.ok]
            assert len(won) == 1, [answer.raw for answer in answers]
            assert [(a.error, a["since"]) for a in lost] == [
                ("item_rented", answers[won[0]]["since"])
            ]
            winners.append(members[won[0]].member_id)
            assert devices[1 - won[0]].request("rental/return", tid=tid).ok

    history = rentals_of(stack, tid)
    assert [row["member_id"] for row in history] == winners
    assert all(row["returned_at"] is not None for row in history)


def test_return_at_another_station_closes_the_rental(stack: Stack) -> None:
    (lender_credentials, lender), (taker_credentials, taker) = station(stack), station(stack)
    member, tid = add_renter(stack), add_item(stack)
    rented = lender.request("rental/rent", card=member.card_uid, tid=tid)

    returned = taker.request("rental/return", tid=tid)

    assert (returned.ok, returned["rental_id"]) == (True, rented["rental_id"])
    [row] = rentals_of(stack, tid)
    assert (row["rented_at_station"], row["returned_at_station"]) == (
        lender_credentials.username,
        taker_credentials.username,
    )
    assert lender.request("rental/status", tid=tid)["out"] is False


def test_members_without_permission_get_not_authorized(stack: Stack) -> None:
    _, device = station(stack)
    member, tid = stack.add_member(), add_item(stack)

    answer = device.request("rental/rent", card=member.card_uid, tid=tid)

    assert answer.error == "not_authorized"
    assert rentals_of(stack, tid) == []
    assert_matches_schema("rental.rent.answer.schema.json", answer.raw)


def test_retried_rent_after_return_gets_the_stored_answer_and_rents_nothing(
    stack: Stack,
) -> None:
    _, device = station(stack)
    member, tid = add_renter(stack), add_item(stack)
    first = device.request("rental/rent", request_id="rent-1", card=member.card_uid, tid=tid)
    assert device.request("rental/return", request_id="return-1", tid=tid).ok

    retried = device.request("rental/rent", request_id="rent-1", card=member.card_uid, tid=tid)

    assert retried.raw == first.raw
    [row] = rentals_of(stack, tid)
    assert (row["id"], row["returned_at"] is not None) == (first["rental_id"], True)
    assert device.request("rental/status", tid=tid)["out"] is False


def test_renting_an_item_that_is_out_is_item_rented_with_since(stack: Stack) -> None:
    _, device = station(stack)
    first, second, tid = add_renter(stack), add_renter(stack), add_item(stack)
    rented = device.request("rental/rent", card=first.card_uid, tid=tid)

    refused = device.request("rental/rent", card=second.card_uid, tid=tid)

    assert (refused.error, refused["since"]) == ("item_rented", rented["since"])
    assert_matches_schema("rental.rent.answer.schema.json", refused.raw)


def test_returning_an_item_that_is_in_is_item_not_rented(stack: Stack) -> None:
    _, device = station(stack)
    tid = add_item(stack)

    answer = device.request("rental/return", tid=tid)

    assert answer.error == "item_not_rented"


def test_unknown_tid_is_unknown_item(stack: Stack) -> None:
    _, device = station(stack)

    answer = device.request("rental/status", tid=unique_tid())

    assert answer.error == "unknown_item"
    assert_matches_schema("rental.status.answer.schema.json", answer.raw)


@pytest.mark.parametrize("tid", ["E280116", "E280116G", 12345678])
def test_malformed_tid_is_bad_request_naming_the_field(stack: Stack, tid: object) -> None:
    _, device = station(stack)

    answer = device.request("rental/status", tid=tid)

    assert answer.error == "bad_request"
    assert "tid" in str(answer.message)


def test_a_machine_may_not_rent(stack: Stack) -> None:
    member, tid = add_renter(stack), add_item(stack)
    machine = stack.device(stack.provision(DeviceKind.MACHINE))

    answer = machine.request("rental/rent", card=member.card_uid, tid=tid)

    assert answer.error == "forbidden_op"
    assert rentals_of(stack, tid) == []


def test_cli_added_item_permitted_member_and_list_show_who_since_when(stack: Stack) -> None:
    _, device = station(stack)
    member, tid = stack.add_member(name="Hedy Lamarr"), unique_tid()
    assert member.card_uid is not None
    stack.cli("rental", "add", tid.lower(), "--name", "Oscilloscope", "--description", "Rigol")
    stack.cli("rental", "permit", "--card", member.card_uid)
    rented = device.request("rental/rent", card=member.card_uid, tid=tid)

    listed = json.loads(stack.cli("rental", "list", "--json").stdout)

    [row] = [row for row in listed if row["tid"] == tid]
    assert row == {
        "tid": tid,
        "name": "Oscilloscope",
        "description": "Rigol",
        "active": True,
        "out": True,
        "rental_id": rented["rental_id"],
        "member_id": member.member_id,
        "member": "Hedy Lamarr",
        "since": rented["since"],
    }


def test_cli_deactivated_item_cannot_be_rented_but_comes_back(stack: Stack) -> None:
    _, device = station(stack)
    first, second, tid = add_renter(stack), add_renter(stack), add_item(stack)
    device.request("rental/rent", card=first.card_uid, tid=tid)

    deactivated = stack.cli("rental", "deactivate", tid)
    returned = device.request("rental/return", tid=tid)
    refused = device.request("rental/rent", card=second.card_uid, tid=tid)

    assert "still be returned" in deactivated.stdout
    assert returned.ok
    assert refused.error == "unknown_item"


def test_cli_revoked_member_gets_not_authorized(stack: Stack) -> None:
    _, device = station(stack)
    member, tid = add_renter(stack), add_item(stack)
    assert member.card_uid is not None

    stack.cli("rental", "revoke", "--card", member.card_uid)
    answer = device.request("rental/rent", card=member.card_uid, tid=tid)

    assert answer.error == "not_authorized"


def test_cli_adding_a_registered_tid_fails_cleanly(stack: Stack) -> None:
    tid = add_item(stack)

    result = stack.cli("rental", "add", tid, "--name", "Twin", check=False)

    assert (result.returncode, "already registered" in result.stderr) == (1, True)
