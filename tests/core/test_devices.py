"""The device registry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import devices
from core.errors import Conflict, NotFound
from core.formats import DeviceKind
from core.models import Device
from tests.factories import T0, TESTER, make_device


@pytest.mark.parametrize("slug", ["a", "Lathe", "lathe_1", "x" * 41, "makerbus-handlers", "lä"])
def test_bad_or_reserved_slugs_are_refused(slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        devices.check_slug(slug)


async def test_a_slug_is_registered_once(db: AsyncSession) -> None:
    device = await make_device(db)

    with pytest.raises(Conflict):
        await devices.create(
            db, slug=device.slug, kind=DeviceKind.RENTAL, name="again", now=T0, actor=TESTER
        )


async def test_disable_and_enable(db: AsyncSession) -> None:
    device = await make_device(db)

    assert not (
        await devices.set_enabled(db, device.slug, enabled=False, actor=TESTER, now=T0)
    ).enabled
    assert (await devices.set_enabled(db, device.slug, enabled=True, actor=TESTER, now=T0)).enabled


async def test_removing_an_unknown_device_is_not_found(db: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await devices.remove(db, "no-such-device", actor=TESTER, now=T0)


def _record(*, enabled: bool, status: devices.DeviceStatus) -> devices.DeviceRecord:
    row = Device(
        slug="lathe-1",
        kind=DeviceKind.MACHINE.value,
        name="Lathe",
        enabled=enabled,
        created_at=T0,
        credentials_rotated_at=T0,
        last_seen_at=T0 + timedelta(minutes=5),
    )
    return devices.DeviceRecord.of(row, status)


@pytest.mark.parametrize(
    ("watching", "reported", "enabled", "online"),
    [
        (True, True, True, True),
        (True, None, True, None),  # never reported
        (True, True, False, False),  # the broker refuses it, whatever its retained status says
        (True, None, False, False),
        (False, None, False, None),  # nobody watches: nothing is claimed
    ],
)
def test_a_device_is_online_as_reported_unless_it_is_disabled(
    watching: bool, reported: bool | None, enabled: bool, online: bool | None
) -> None:
    status = devices.DeviceStatus(watching=watching, online=reported, fw=None, heard_at=None)

    assert _record(enabled=enabled, status=status).online is online


@pytest.mark.parametrize(
    ("heard_after", "seen_after"),
    [
        (None, timedelta(minutes=5)),
        (timedelta(minutes=1), timedelta(minutes=5)),
        (timedelta(minutes=9), timedelta(minutes=9)),
    ],
)
def test_a_device_was_last_seen_at_its_last_request_or_live_status_whichever_is_later(
    heard_after: timedelta | None, seen_after: timedelta
) -> None:
    heard_at = None if heard_after is None else T0 + heard_after
    status = devices.DeviceStatus(watching=True, online=True, fw="1.0", heard_at=heard_at)

    assert _record(enabled=True, status=status).last_seen_at == T0 + seen_after
