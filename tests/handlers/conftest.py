"""A runtime on the test database and a registered machine to send its requests from."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.devices import DeviceRef
from core.formats import DeviceKind
from core.settings import Settings
from handlers.runtime import Runtime
from tests.factories import make_device


@pytest.fixture
def runtime(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> Runtime:
    return Runtime(settings, sessions, clock)


@pytest.fixture
async def machine(db: AsyncSession) -> DeviceRef:
    device = await make_device(db, kind=DeviceKind.MACHINE)
    await db.commit()
    return device
