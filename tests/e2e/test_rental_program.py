"""The reference rental station on the live stack: rent on a tag and a tap, return anywhere.

The stations run in-process with simulated tag and card readers (and once as the
`makerbus-device rental` console program); the server, broker and database are real.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from makerbus_device import RentalStation, SimulatedReader, SimulatedTagReader
from sqlalchemy import select

from core.formats import DeviceKind
from core.members import NewMember
from core.models import Rental, RentalItem
from makerbus.context import database
from tests.e2e.console import run_program
from tests.e2e.fakes import FakeClock
from tests.e2e.stack import Stack, run_async


@dataclass
class Station:
    """A rental station with simulated readers; ``shown`` is its display."""

    station: RentalStation
    tags: SimulatedTagReader
    reader: SimulatedReader
    clock: FakeClock
    shown: list[str]

    def see(self, tid: str) -> None:
        self.tags.see(tid)
        self.station.step(poll_s=0)

    def tap(self, member: NewMember) -> None:
        assert member.card_uid is not None
        self.reader.tap(member.card_uid)
        self.station.step(poll_s=0)


def station(stack: Stack) -> Station:
    tags, reader, clock = SimulatedTagReader(), SimulatedReader(), FakeClock()
    shown: list[str] = []
    client = stack.device(stack.provision(DeviceKind.RENTAL))
    rental = RentalStation(client, tags, reader, display=shown.append, monotonic=clock)
    return Station(rental, tags, reader, clock, shown)


def add_item(stack: Stack, name: str = "Cordless drill") -> str:
    """An item registered with the real `makerbus rental add`; its TID."""
    tid = uuid.uuid4().hex.upper()
    stack.cli("rental", "add", tid, "--name", name, "--description", "in the red case")
    return tid


def permitted_member(stack: Stack) -> NewMember:
    member = stack.add_member()
    assert member.card_uid is not None
    stack.cli("rental", "permit", "--card", member.card_uid)
    return member


def rentals_of(stack: Stack, tid: str) -> list[tuple[int, bool]]:
    """The item's rentals as (member id, returned)."""

    async def go() -> list[tuple[int, bool]]:
        async with database(stack.settings) as db:
            rows = await db.execute(
                select(Rental.member_id, Rental.returned_at)
                .join(RentalItem, Rental.item_id == RentalItem.id)
                .where(RentalItem.tid == tid)
                .order_by(Rental.id)
            )
            return [(member_id, returned is not None) for member_id, returned in rows]

    return run_async(go())


def test_tag_then_tap_rents_the_item_to_the_member(stack: Stack) -> None:
    tid = add_item(stack)
    member = permitted_member(stack)
    front_desk = station(stack)
    front_desk.see(tid)
    assert front_desk.shown[-1] == (
        "Cordless drill (in the red case) is here: tap your card within 15 s to rent it"
    )

    front_desk.tap(member)

    assert front_desk.shown[-1] == "Cordless drill is yours: bring it back to any station"
    assert rentals_of(stack, tid) == [(member.member_id, False)]


def test_tag_of_a_rented_item_at_another_station_returns_it(stack: Stack) -> None:
    tid = add_item(stack)
    member = permitted_member(stack)
    front_desk, workshop = station(stack), station(stack)
    front_desk.see(tid)
    front_desk.tap(member)

    workshop.see(tid)

    assert workshop.shown[-1].startswith("Cordless drill returned after ")
    assert rentals_of(stack, tid) == [(member.member_id, True)]


def test_tag_held_in_front_of_the_antenna_after_renting_does_not_return_it(
    stack: Stack,
) -> None:
    tid = add_item(stack)
    member = permitted_member(stack)
    front_desk = station(stack)
    front_desk.see(tid)
    front_desk.tap(member)

    for _ in range(3):
        front_desk.clock.now += 1
        front_desk.see(tid)

    assert rentals_of(stack, tid) == [(member.member_id, False)]


def test_tap_of_a_member_without_permission_rents_nothing(stack: Stack) -> None:
    tid = add_item(stack)
    member = stack.add_member()
    front_desk = station(stack)
    front_desk.see(tid)

    front_desk.tap(member)

    assert front_desk.shown[-1] == (
        "Cordless drill not rented: you have no rental permission; ask the staff"
    )
    assert rentals_of(stack, tid) == []


def test_tag_without_a_tap_in_time_shows_the_item_and_rents_nothing(stack: Stack) -> None:
    tid = add_item(stack)
    member = permitted_member(stack)
    front_desk = station(stack)
    front_desk.see(tid)

    front_desk.clock.now += 16
    front_desk.tap(member)

    assert "Cordless drill: not rented (no card was tapped)" in front_desk.shown
    assert rentals_of(stack, tid) == []


def test_console_stations_rent_and_return_the_typed_tag(stack: Stack) -> None:
    tid = add_item(stack)
    member = permitted_member(stack)

    rented = run_program(
        "rental", stack.provision(DeviceKind.RENTAL), f"tid {tid}\ntap {member.card_uid}\n"
    )
    returned = run_program("rental", stack.provision(DeviceKind.RENTAL), f"tid {tid.lower()}\n")

    assert "Cordless drill is yours: bring it back to any station" in rented.stdout.splitlines()
    assert "Cordless drill returned after" in returned.stdout
    assert rentals_of(stack, tid) == [(member.member_id, True)]
