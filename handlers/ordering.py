"""One queue per device: its requests are answered in order, other devices run in parallel.

Entries exist only while a device has requests waiting or running, so a worker serving
thousands of devices over months holds no lock per device it has ever seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class DeviceQueues:
    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def turn(self, device: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(device, asyncio.Lock())
        self._users[device] = self._users.get(device, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[device] -= 1
            if not self._users[device]:
                del self._users[device]
                del self._locks[device]

    def __len__(self) -> int:
        return len(self._locks)
