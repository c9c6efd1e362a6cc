"""`makerbus snipeit sync` against the local Snipe-IT stand-in: what the operator reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import rentals
from core.clock import SystemClock
from core.devices import DeviceRef
from core.members import NewMember
from core.models import RentalItem
from tests.core.test_rentals import make_renter, make_station
from tests.factories import unique_tid
from tests.makerbus.conftest import InDatabase, Makerbus
from tests.snipeit_standin import TOKEN, SnipeItStandIn, StandInAsset, unique_asset_id


@pytest.fixture
def snipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[SnipeItStandIn]:
    """The stand-in, and the settings that turn the adapter on for it."""
    with SnipeItStandIn(TOKEN) as server:
        monkeypatch.setenv("MAKERBUS_SNIPEIT_URL", server.url)
        monkeypatch.setenv("MAKERBUS_SNIPEIT_TOKEN", TOKEN)
        monkeypatch.setenv("MAKERBUS_SNIPEIT_CHECKOUT_TO", "location:12")
        yield server


def drill() -> StandInAsset:
    return StandInAsset(unique_asset_id(), "Cordless drill", unique_tid())


def test_sync_mirrors_the_list_then_reports_a_rental_and_its_return(
    makerbus: Makerbus,
    in_database: InDatabase,
    snipe: SnipeItStandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    asset = snipe.add(drill())

    async def arrange(db: AsyncSession) -> tuple[DeviceRef, NewMember]:
        return await make_station(db), await make_renter(db, name="Grace Hopper")

    station, grace = in_database(arrange)
    assert grace.card_uid is not None

    async def rent(db: AsyncSession) -> int:
        rented = await rentals.rent(
            db,
            device_id=station.id,
            card_uid=grace.card_uid or "",
            tid=asset.tid or "",
            now=SystemClock().now(),
        )
        return rented.rental_id

    async def give_back(db: AsyncSession) -> None:
        await rentals.return_item(
            db, device_id=station.id, tid=asset.tid or "", now=SystemClock().now()
        )

    mirrored = makerbus("snipeit", "sync")
    rental_id = in_database(rent)
    out = makerbus("snipeit", "sync")
    in_database(give_back)
    back = makerbus("snipeit", "sync")

    assert (mirrored.exit_code, out.exit_code, back.exit_code) == (0, 0, 0)
    assert (
        f"  created     asset {asset.id} {asset.tid} Cordless drill" in mirrored.stdout.splitlines()
    )
    assert "Reports: 0 sent, 0 failed, 0 waiting." in mirrored.stdout.splitlines()
    sent = f"rental {rental_id}, asset {asset.id} Cordless drill (Grace Hopper)"
    assert f"  sent    checkout {sent}" in out.stdout.splitlines()
    assert f"  sent    checkin  {sent}" in back.stdout.splitlines()
    assert [asset_id for asset_id, _ in snipe.checkouts] == [asset.id]
    assert [asset_id for asset_id, _ in snipe.checkins] == [asset.id]
    assert TOKEN not in mirrored.output + out.output + back.output + caplog.text


def test_a_dry_run_shows_what_would_change_and_keeps_nothing(
    makerbus: Makerbus, in_database: InDatabase, snipe: SnipeItStandIn
) -> None:
    asset = snipe.add(drill())

    shown = makerbus("snipeit", "sync", "--dry-run")

    async def mirrored(db: AsyncSession) -> int | None:
        return await db.scalar(select(RentalItem.id).where(RentalItem.snipeit_asset_id == asset.id))

    assert shown.exit_code == 0
    assert f"  created     asset {asset.id} {asset.tid} Cordless drill" in shown.stdout.splitlines()
    assert "Would send 0 reports." in shown.stdout.splitlines()
    assert in_database(mirrored) is None
    assert {r.method for r in snipe.received} == {"GET"}


def test_a_list_that_cannot_be_read_exits_with_1_and_never_shows_the_token(
    makerbus: Makerbus, snipe: SnipeItStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-the-token-" + "w" * 20
    monkeypatch.setenv("MAKERBUS_SNIPEIT_TOKEN", wrong)

    failed = makerbus("snipeit", "sync")

    assert failed.exit_code == 1
    assert failed.stdout.splitlines()[0] == (
        "Hardware list not read: Snipe-IT refused the token (HTTP 401)"
    )
    assert wrong not in failed.output


def test_sync_while_snipeit_is_off_says_so(makerbus: Makerbus) -> None:
    off = makerbus("snipeit", "sync")

    assert off.exit_code == 1
    assert off.output == "Error: Snipe-IT is off: MAKERBUS_SNIPEIT_URL is not set\n"
