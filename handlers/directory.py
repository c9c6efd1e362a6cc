"""A short-lived, per-worker memory of who the devices are: saves a query on every request.

Staleness is bounded and harmless: a device that is disabled or removed is disconnected and
refused by the broker at once, before this memory expires; a new device is looked up at once,
because misses are never remembered.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from core import devices
from core.devices import DeviceRef

TTL_S = 10.0


class DeviceDirectory:
    def __init__(
        self, ttl_s: float = TTL_S, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._known: dict[str, tuple[DeviceRef, float]] = {}

    async def find(self, db: AsyncSession, slug: str) -> DeviceRef | None:
        now = self._monotonic()
        cached = self._known.get(slug)
        if cached is not None and cached[1] > now:
            return cached[0]
        found = await devices.find(db, slug)
        if found is None:
            self._known.pop(slug, None)
        else:
            self._known[slug] = (found, now + self._ttl_s)
        return found
