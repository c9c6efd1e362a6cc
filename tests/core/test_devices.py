"""The device registry."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core import devices
from core.errors import Conflict, NotFound
from core.formats import DeviceKind
from tests.factories import T0, make_device


@pytest.mark.parametrize("slug", ["a", "Lathe", "lathe_1", "x" * 41, "makerbus-handlers", "lä"])
def test_bad_or_reserved_slugs_are_refused(slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        devices.check_slug(slug)


async def test_a_slug_is_registered_once(db: AsyncSession) -> None:
    device = await make_device(db)

    with pytest.raises(Conflict):
        await devices.create(db, slug=device.slug, kind=DeviceKind.RENTAL, name="again", now=T0)


async def test_disable_and_enable(db: AsyncSession) -> None:
    device = await make_device(db)

    assert not (await devices.set_enabled(db, device.slug, enabled=False)).enabled
    assert (await devices.set_enabled(db, device.slug, enabled=True)).enabled


async def test_removing_an_unknown_device_is_not_found(db: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await devices.remove(db, "no-such-device")
