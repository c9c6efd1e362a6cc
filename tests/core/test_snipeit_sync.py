"""A Snipe-IT sync on a real database against the local stand-in: mirroring the hardware list
into rental items, and reporting station checkouts and check-ins back, with retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import rentals
from core.clock import FrozenClock
from core.devices import DeviceRef
from core.members import NewMember
from core.models import RentalItem, SnipeItReport
from core.snipeit import reports
from core.snipeit.client import Target
from core.snipeit.mirror import Change, Problem
from core.snipeit.sync import Synced, preview, sync
from tests.core.test_rentals import make_renter, make_station
from tests.factories import T0, TESTER, unique_tid
from tests.snipeit_standin import TOKEN, Naps, SnipeItStandIn, StandInAsset, client, unique_asset_id

TARGET = Target("location", 12)
ZONE = ZoneInfo("Europe/Berlin")


def drill(tid: str | None = None, *, status_type: str = "deployable") -> StandInAsset:
    return StandInAsset(unique_asset_id(), "Cordless drill", tid or unique_tid(), status_type)


@dataclass
class Lab:
    """The stand-in, the database, a station and a member who may rent, and the clock."""

    sessions: async_sessionmaker[AsyncSession]
    db: AsyncSession
    snipe: SnipeItStandIn
    clock: FrozenClock
    station: DeviceRef
    member: NewMember

    async def sync(self, naps: Naps | None = None) -> Synced:
        async with client(self.snipe, naps=naps) as snipeit:
            return await sync(self.sessions, snipeit, target=TARGET, zone=ZONE, clock=self.clock)

    async def mirrored(self, count: int = 1) -> list[StandInAsset]:
        """Assets in Snipe-IT, mirrored already."""
        assets = [self.snipe.add(drill()) for _ in range(count)]
        await self.sync()
        return assets

    async def rent(self, tid: str | None, *, station: DeviceRef | None = None) -> int:
        assert self.member.card_uid is not None
        rented = await rentals.rent(
            self.db,
            device_id=(station or self.station).id,
            card_uid=self.member.card_uid,
            tid=tid or "",
            now=self.clock.now(),
        )
        return rented.rental_id

    async def give_back(self, tid: str | None, *, station: DeviceRef | None = None) -> None:
        device = station or self.station
        await rentals.return_item(self.db, device_id=device.id, tid=tid or "", now=self.clock.now())

    async def item_of(self, asset: StandInAsset) -> RentalItem:
        statement = select(RentalItem).where(RentalItem.snipeit_asset_id == asset.id)
        found = await self.db.scalar(statement)
        assert found is not None
        await self.db.refresh(found)
        return found

    async def reports_of(self, rental_id: int) -> list[SnipeItReport]:
        statement = (
            select(SnipeItReport)
            .where(SnipeItReport.rental_id == rental_id)
            .order_by(SnipeItReport.id)
        )
        found = list(await self.db.scalars(statement))
        for report in found:
            await self.db.refresh(report)
        return found


@pytest.fixture
async def lab(
    sessions: async_sessionmaker[AsyncSession], db: AsyncSession, clock: FrozenClock
) -> AsyncIterator[Lab]:
    with SnipeItStandIn(TOKEN) as snipe:
        station = await make_station(db)
        member = await make_renter(db, name="Grace Hopper")
        yield Lab(sessions, db, snipe, clock, station, member)


async def test_listed_assets_become_rental_items_keyed_by_their_asset_id(lab: Lab) -> None:
    ready = lab.snipe.add(drill("e2801170aa01"))
    broken = lab.snipe.add(drill(status_type="undeployable"))

    synced = await lab.sync()

    assert synced.mirrored is not None
    assert [change.asset_id for change in synced.mirrored.created] == [ready.id, broken.id]
    item = await lab.item_of(ready)
    assert (item.tid, item.name, item.active, item.created_at) == (
        "E2801170AA01",
        "Cordless drill",
        True,
        T0,
    )
    assert (await lab.item_of(broken)).active is False


async def test_a_later_sync_follows_changes_and_deactivates_what_left_the_list(lab: Lab) -> None:
    renamed, retagged, deleted, same = await lab.mirrored(4)
    renamed.name, retagged.tid, deleted.deleted = "Drill (18 V)", unique_tid(), True

    synced = await lab.sync()

    assert synced.mirrored is not None
    assert [(c.asset_id, c.what) for c in synced.mirrored.updated] == [
        (renamed.id, "name"),
        (retagged.id, "TID"),
    ]
    mine = {renamed.id, retagged.id, deleted.id, same.id}
    assert [(c.asset_id, c.what) for c in synced.mirrored.deactivated if c.asset_id in mine] == [
        (deleted.id, "no longer listed")
    ]
    assert (await lab.item_of(retagged)).tid == retagged.tid
    assert (await lab.item_of(deleted)).active is False
    assert (await lab.item_of(same)).active is True


async def test_assets_that_cannot_be_mirrored_are_reported_and_the_rest_goes_on(lab: Lab) -> None:
    local = await rentals.add_item(
        lab.db, tid=unique_tid(), name="Saw", description=None, now=T0, actor=TESTER
    )
    untagged = lab.snipe.add(StandInAsset(unique_asset_id(), "Ladder", None))
    clash = lab.snipe.add(drill(local.tid))
    first = lab.snipe.add(drill())
    twin = lab.snipe.add(drill(first.tid))
    garbled = lab.snipe.add(drill("not hex"))

    synced = await lab.sync()

    assert synced.mirrored is not None
    assert synced.mirrored.problems == [
        Problem(untagged.id, "Ladder", "no TID in its tag field"),
        Problem(
            clash.id,
            "Cordless drill",
            f"TID {local.tid} is taken by an item registered in makerbus",
        ),
        Problem(twin.id, "Cordless drill", f"TID {first.tid} is taken by asset {first.id}"),
        Problem(garbled.id, "Cordless drill", "a TID is 8-64 characters of hex"),
    ]
    assert synced.mirrored.created == [
        Change(first.id, first.tid or "", "Cordless drill", "created")
    ]


async def test_a_station_rental_is_reported_as_a_checkout_and_its_return_as_a_checkin(
    lab: Lab,
) -> None:
    [asset] = await lab.mirrored()
    door = await make_station(lab.db)
    rental_id = await lab.rent(asset.tid)

    lab.clock.advance(timedelta(minutes=1))
    out = await lab.sync()
    lab.clock.advance(timedelta(hours=2))
    await lab.give_back(asset.tid, station=door)
    back = await lab.sync()

    assert (len(out.done), len(back.done)) == (1, 1)
    rental = f"(makerbus rental {rental_id})"
    assert lab.snipe.checkouts == [
        (
            asset.id,
            {
                "checkout_to_type": "location",
                "assigned_location": 12,
                "checkout_at": "2026-11-21 10:00:00",
                "note": f"Rented by Grace Hopper at Test {lab.station.slug} {rental}",
            },
        )
    ]
    assert lab.snipe.checkins == [
        (
            asset.id,
            {
                "checkin_at": "2026-11-21",
                "note": f"Returned at Test {door.slug}, rented by Grace Hopper {rental}",
            },
        )
    ]
    done = [(r.action, r.attempts, r.done_at) for r in await lab.reports_of(rental_id)]
    assert done == [("checkout", 1, T0 + timedelta(minutes=1)), ("checkin", 1, lab.clock.now())]


async def test_items_registered_in_makerbus_are_never_reported(lab: Lab) -> None:
    local = await rentals.add_item(
        lab.db, tid=unique_tid(), name="Saw", description=None, now=T0, actor=TESTER
    )
    rental_id = await lab.rent(local.tid)

    await lab.sync()

    assert await lab.reports_of(rental_id) == []


async def test_a_refused_report_is_kept_with_its_error_and_sent_once_its_wait_is_over(
    lab: Lab,
) -> None:
    [asset] = await lab.mirrored()
    rental_id = await lab.rent(asset.tid)
    lab.snipe.refuse("The checkout target is invalid.")

    refused = await lab.sync()
    [kept] = await lab.reports_of(rental_id)
    lab.clock.advance(timedelta(seconds=29))
    too_early = await lab.sync()
    lab.clock.advance(timedelta(seconds=1))
    sent = await lab.sync()

    assert [error for _, error in refused.failed] == [
        "Snipe-IT refused: The checkout target is invalid."
    ]
    assert (kept.attempts, kept.next_attempt_at, kept.done_at) == (
        1,
        T0 + timedelta(seconds=30),
        None,
    )
    assert too_early.due == []
    assert [report.rental_id for report in sent.done] == [rental_id]
    [report] = await lab.reports_of(rental_id)
    assert (report.attempts, report.last_error, report.done_at) == (2, None, lab.clock.now())


async def test_rate_limiting_holds_reports_back_as_long_as_retry_after_says(lab: Lab) -> None:
    assets = await lab.mirrored(2)
    rental_ids = [await lab.rent(asset.tid) for asset in assets]
    lab.snipe.throttle(100, retry_after="120")

    limited = await lab.sync()
    lab.snipe.throttle(0)
    lab.clock.advance(timedelta(seconds=119))
    waiting = await lab.sync()
    lab.clock.advance(timedelta(seconds=1))
    later = await lab.sync()

    assert limited.listing_error == "rate limited by Snipe-IT (retry after 120 s)"
    assert [report.rental_id for report, _ in limited.failed] == rental_ids[:1]
    assert [report.rental_id for report in waiting.done] == rental_ids[1:]
    assert [report.rental_id for report in later.done] == rental_ids[:1]
    assert sorted(asset_id for asset_id, _ in lab.snipe.checkouts) == sorted(a.id for a in assets)


async def test_a_short_rate_limit_is_waited_out_within_the_sync(lab: Lab) -> None:
    [asset] = await lab.mirrored()
    await lab.rent(asset.tid)
    lab.snipe.throttle(2, retry_after="3")
    naps = Naps()

    synced = await lab.sync(naps)

    assert naps.taken == [3.0, 3.0]
    assert (synced.listing_error, len(synced.done), synced.failed) == (None, 1, [])


async def test_a_checkin_snipeit_already_shows_counts_as_done(lab: Lab) -> None:
    [asset] = await lab.mirrored()
    rental_id = await lab.rent(asset.tid)
    await lab.sync()
    asset.assigned = None  # checked in by hand in Snipe-IT
    await lab.give_back(asset.tid)

    synced = await lab.sync()

    assert [report.action for report in synced.done] == ["checkin"]
    assert lab.snipe.checkins == []
    assert all(report.done_at is not None for report in await lab.reports_of(rental_id))


async def test_a_later_report_of_an_asset_waits_while_an_earlier_one_fails(lab: Lab) -> None:
    [asset] = await lab.mirrored()
    await lab.rent(asset.tid)
    await lab.give_back(asset.tid)
    lab.snipe.refuse("Something went wrong.")

    synced = await lab.sync()

    assert [report.action for report, _ in synced.failed] == ["checkout"]
    assert [report.action for report in synced.waiting if report.asset_id == asset.id] == [
        "checkout",
        "checkin",
    ]
    assert [r.path for r in lab.snipe.received if r.method == "POST"] == [
        f"/api/v1/hardware/{asset.id}/checkout"
    ]


async def test_a_dry_run_shows_the_changes_and_reports_and_keeps_nothing(lab: Lab) -> None:
    [asset] = await lab.mirrored()
    rental_id = await lab.rent(asset.tid)
    new = lab.snipe.add(drill())

    async with client(lab.snipe) as snipeit:
        shown = await preview(lab.sessions, snipeit, clock=lab.clock)

    assert shown.mirrored is not None
    assert [c.asset_id for c in shown.mirrored.created] == [new.id]
    assert [(r.rental_id, r.action) for r in shown.due] == [(rental_id, "checkout")]
    mirrored = select(RentalItem.id).where(RentalItem.snipeit_asset_id == new.id)
    assert await lab.db.scalar(mirrored) is None
    assert await lab.reports_of(rental_id) == []
    assert [r.method for r in lab.snipe.received if r.method == "POST"] == []


async def test_the_token_is_never_logged(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    [asset] = await lab.mirrored()
    await lab.rent(asset.tid)
    lab.snipe.refuse("Something went wrong.")
    caplog.set_level(logging.DEBUG)

    synced = await lab.sync()

    assert synced.failed
    assert caplog.records  # the HTTP client's debug lines were captured
    assert TOKEN not in caplog.text
    assert all(TOKEN not in repr(vars(record)) for record in caplog.records)


async def test_two_syncs_queueing_at_once_write_each_report_once(
    committed_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with committed_sessions() as db, db.begin():
        station, member = await make_station(db), await make_renter(db)
        item = RentalItem(
            tid=unique_tid(),
            name="Drill",
            active=True,
            created_at=T0,
            snipeit_asset_id=unique_asset_id(),
        )
        db.add(item)
        await db.flush()
        assert member.card_uid is not None
        rented = await rentals.rent(
            db, device_id=station.id, card_uid=member.card_uid, tid=item.tid, now=T0
        )

    async def queue_and_commit() -> int:
        async with committed_sessions() as db, db.begin():
            return await reports.queue(db, now=T0)

    async with committed_sessions() as first:
        async with first.begin():
            queued_first = await reports.queue(first, now=T0)
            # The second sync reads before the first commits, and writes after it has.
            second = asyncio.create_task(queue_and_commit())
            await asyncio.sleep(0.3)
        queued_second = await second

    async with committed_sessions() as db:
        found = await db.scalars(
            select(SnipeItReport.action).where(SnipeItReport.rental_id == rented.rental_id)
        )
        assert list(found) == ["checkout"]
    assert (queued_first, queued_second) == (1, 0)
