"""A device's last-seen time on the driver connection (`core.devices.touch` elsewhere)."""

from __future__ import annotations

from datetime import datetime

from core.hotpath.driver import Driver, Statement

_TOUCH = Statement("UPDATE devices SET last_seen_at = %(now)s WHERE id = %(device)s")


async def touch(driver: Driver, device_id: int, *, now: datetime) -> None:
    """Record that the device was heard from."""
    await driver.run(_TOUCH, {"device": device_id, "now": driver.time(now)})
