"""RentalStation's decisions against a scripted server.

The live proof (rent on TID and tap, return at another station) is
tests/e2e/test_rental_program.py in the makerbus repository.
"""

from __future__ import annotations

from dataclasses import dataclass

from scripted import NO_ANSWER, Clock, ScriptedServer, ok, refused

from makerbus_device import Answer, RentalStation, SimulatedReader, SimulatedTagReader

CARD = "04A1B2C3"
TID = "E2801160600002054F3A1B7C"


def status(*, out: bool) -> Answer:
    return ok(
        tid=TID,
        name="Drill",
        description="Bosch, with case",
        out=out,
        since="2026-11-21T20:17:33Z" if out else None,
        rental_id=4 if out else None,
    )


RENTED = ok(rental_id=5, tid=TID, name="Drill", since="2026-11-21T20:17:33Z")


@dataclass
class Station:
    station: RentalStation
    server: ScriptedServer
    tags: SimulatedTagReader
    reader: SimulatedReader
    clock: Clock
    shown: list[str]

    def see(self, tid: str = TID) -> None:
        self.tags.see(tid)
        self.station.step(poll_s=0)

    def tap(self, card: str = CARD) -> None:
        self.reader.tap(card)
        self.station.step(poll_s=0)

    def wait(self, seconds: float) -> None:
        self.clock.now += seconds
        self.station.step(poll_s=0)


def station() -> Station:
    server, clock = ScriptedServer(), Clock()
    shown: list[str] = []
    tags, reader = SimulatedTagReader(), SimulatedReader()
    rental = RentalStation(server, tags, reader, display=shown.append, monotonic=clock)
    return Station(rental, server, tags, reader, clock, shown)


def test_tag_of_item_in_offers_it_for_a_card_tap() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False))

    rental.see()

    assert rental.station.offered is not None
    assert rental.shown[-1] == (
        "Drill (Bosch, with case) is here: tap your card within 15 s to rent it"
    )


def test_tap_after_tag_of_item_in_rents_it() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False))
    rental.server.answer("rental/rent", RENTED)
    rental.see()

    rental.tap()

    assert rental.server.last("rental/rent").fields == {"card": CARD, "tid": TID}
    assert rental.shown[-1] == "Drill is yours: bring it back to any station"
    assert rental.station.offered is None


def test_tag_of_item_out_returns_it_and_shows_the_duration() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=True))
    rental.server.answer("rental/return", ok(rental_id=4, duration_s=3725, tid=TID, name="Drill"))

    rental.see(TID.lower())

    assert rental.server.ops() == ["rental/status", "rental/return"]
    assert rental.server.last("rental/return").fields == {"tid": TID}
    assert rental.shown[-1] == "Drill returned after 1 h 2 min: thank you"


def test_offer_without_tap_in_time_ends_showing_the_status() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False))
    rental.see()

    rental.wait(16)
    rental.tap()

    assert "Drill: not rented (no card was tapped)" in rental.shown
    assert rental.shown[-1] == "hold the item to the reader first, then tap your card"
    assert rental.server.ops() == ["rental/status"]


def test_same_tag_seen_again_within_the_quiet_time_is_ignored() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False))
    rental.server.answer("rental/rent", RENTED)
    rental.see()
    rental.tap()

    for _ in range(5):  # still in front of the antenna, read again and again
        rental.clock.now += 1
        rental.see()

    assert rental.server.ops() == ["rental/status", "rental/rent"]


def test_same_tag_after_the_quiet_time_counts_again() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False), status(out=True))
    rental.server.answer("rental/rent", RENTED)
    rental.server.answer("rental/return", ok(rental_id=5, duration_s=60, tid=TID, name="Drill"))
    rental.see()
    rental.tap()

    rental.clock.now += 3
    rental.see()

    assert rental.server.ops() == ["rental/status", "rental/rent", "rental/status", "rental/return"]


def test_tap_of_member_without_permission_says_so() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False))
    rental.server.answer("rental/rent", refused("not_authorized"))
    rental.see()

    rental.tap()

    assert rental.shown[-1] == "Drill not rented: you have no rental permission; ask the staff"


def test_tap_of_member_outside_the_reserving_project_shows_until_when() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False))
    rental.server.answer("rental/rent", refused("item_reserved", until="2026-11-21T18:00:00Z"))
    rental.see()

    rental.tap()

    assert rental.shown[-1] == (
        "Drill not rented: reserved for a project until 2026-11-21 18:00 UTC"
    )


def test_tag_of_unknown_item_says_so() -> None:
    rental = station()
    rental.server.answer("rental/status", refused("unknown_item"))

    rental.see()

    assert rental.shown[-1] == f"{TID}: unknown item"
    assert rental.station.offered is None


def test_tap_again_after_unanswered_rent_resends_under_the_same_id() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False))
    rental.server.answer("rental/rent", NO_ANSWER, RENTED)
    rental.see()
    rental.tap()

    rental.tap()

    first, again = [sent for sent in rental.server.sent if sent.op == "rental/rent"]
    assert (first.request_id, again.request_id) == (None, "auto-1")
    assert rental.shown[-1] == "Drill is yours: bring it back to any station"


def test_tap_arriving_after_the_offer_ended_rents_nothing() -> None:
    rental = station()
    rental.server.answer("rental/status", status(out=False))
    rental.see()
    rental.clock.now += 16  # no step ran meanwhile: the tap is the next input

    rental.tap()

    assert rental.server.ops() == ["rental/status"]
    assert rental.shown[-2:] == [
        "Drill: not rented (no card was tapped)",
        "hold the item to the reader first, then tap your card",
    ]
