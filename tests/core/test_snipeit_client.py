"""The Snipe-IT client against the local stand-in: paging, refusals, rate limits, the token."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from core.snipeit.client import Asset, RateLimited, Refused, SnipeItClient, SnipeItError, Target
from tests.factories import T0
from tests.snipeit_standin import (
    TAG_COLUMN,
    TAG_FIELD,
    TOKEN,
    Naps,
    SnipeItStandIn,
    StandInAsset,
    client,
    unique_asset_id,
)

T_LOCAL = T0.astimezone(ZoneInfo("Europe/Berlin"))


@pytest.fixture
def snipe() -> Iterator[SnipeItStandIn]:
    with SnipeItStandIn(TOKEN) as server:
        yield server


async def test_the_hardware_list_is_read_page_by_page_until_its_total(
    snipe: SnipeItStandIn,
) -> None:
    ids = [
        snipe.add(StandInAsset(unique_asset_id(), f"Drill {n}", f"E2{n:06X}")).id for n in range(7)
    ]

    async with client(snipe, page_size=3) as snipeit:
        assets = await snipeit.assets()

    assert [asset.id for asset in assets] == ids
    pages = [(r.query["offset"], r.query["limit"]) for r in snipe.received]
    assert pages == [("0", "3"), ("3", "3"), ("6", "3")]


async def test_an_asset_reads_its_tid_name_status_and_holder(snipe: SnipeItStandIn) -> None:
    out = snipe.add(
        StandInAsset(unique_asset_id(), "Drill & bits", "e2801170", assigned=("location", 4))
    )
    broken = snipe.add(StandInAsset(unique_asset_id(), "Saw", None, status_type="undeployable"))

    async with client(snipe) as snipeit:
        assets = await snipeit.assets()

    assert assets == [
        Asset(out.id, "Drill & bits", "e2801170", active=True, assigned_to=Target("location", 4)),
        Asset(broken.id, "Saw", None, active=False, assigned_to=None),
    ]


async def test_the_tag_field_may_be_named_by_its_database_column(snipe: SnipeItStandIn) -> None:
    snipe.add(StandInAsset(unique_asset_id(), "Drill", "E2801170"))

    async with client(snipe, tag_field=TAG_COLUMN) as snipeit:
        assets = await snipeit.assets()

    assert [asset.tag for asset in assets] == ["E2801170"]


async def test_a_wrong_token_is_an_error_that_does_not_name_it(snipe: SnipeItStandIn) -> None:
    wrong = "wrong-token-" + "z" * 20

    async with client(snipe, token=wrong) as snipeit:
        with pytest.raises(SnipeItError) as refused:
            await snipeit.assets()

    assert str(refused.value) == "Snipe-IT refused the token (HTTP 401)"
    assert wrong not in repr(refused.value)
    assert wrong not in repr(snipeit)


async def test_a_refusal_with_http_200_is_an_error_with_its_message(
    snipe: SnipeItStandIn,
) -> None:
    asset = snipe.add(StandInAsset(unique_asset_id(), "Drill", "E2801170"))

    async with client(snipe) as snipeit:
        with pytest.raises(Refused) as refused:
            await snipeit.checkin(asset.id, note="back", at=T_LOCAL)

    assert str(refused.value) == "Snipe-IT refused: That asset is already checked in."


async def test_a_checkout_names_its_target_time_and_note(snipe: SnipeItStandIn) -> None:
    asset = snipe.add(StandInAsset(unique_asset_id(), "Drill", "E2801170"))

    async with client(snipe) as snipeit:
        await snipeit.checkout(asset.id, Target("user", 7), note="Rented by Ada", at=T_LOCAL)

    assert snipe.checkouts == [
        (
            asset.id,
            {
                "checkout_to_type": "user",
                "assigned_user": 7,
                "checkout_at": "2026-11-21 10:00:00",
                "note": "Rented by Ada",
            },
        )
    ]


async def test_rate_limiting_is_waited_out_as_retry_after_says(snipe: SnipeItStandIn) -> None:
    snipe.add(StandInAsset(unique_asset_id(), "Drill", "E2801170"))
    snipe.throttle(2, retry_after="7")
    naps = Naps()

    async with client(snipe, naps=naps) as snipeit:
        assets = await snipeit.assets()

    assert len(assets) == 1
    assert naps.taken == [7.0, 7.0]


async def test_rate_limiting_that_lasts_gives_up_with_when_to_retry(
    snipe: SnipeItStandIn,
) -> None:
    snipe.throttle(10, retry_after="30")
    naps = Naps()

    async with client(snipe, naps=naps) as snipeit:
        with pytest.raises(RateLimited) as limited:
            await snipeit.assets()

    assert limited.value.retry_after_s == 30.0
    assert naps.taken == [30.0, 30.0, 30.0]


async def test_an_unreachable_server_is_an_error() -> None:
    gone = SnipeItClient("http://127.0.0.1:9", TOKEN, tag_field=TAG_FIELD, timeout_s=2)

    async with gone as snipeit:
        with pytest.raises(SnipeItError, match="unreachable"):
            await snipeit.assets()


def test_a_checkout_target_is_a_location_or_a_user() -> None:
    assert Target.parse("location:12") == Target("location", 12)
    assert Target.parse("user:3") == Target("user", 3)
    with pytest.raises(ValueError, match="location:<id> or user:<id>"):
        Target.parse("asset:3")
