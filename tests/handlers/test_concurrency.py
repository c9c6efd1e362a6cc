"""Twins of one request racing through separate connections are answered once, identically."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.db import async_session_factory, make_async_engine
from core.models import DeviceKind, ProcessedRequest
from core.settings import Settings
from handlers.runtime import Incoming, Runtime
from tests.factories import make_device, make_member


@pytest.fixture
async def committed_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Real, separately committing connections (no rollback wrapper): for races."""
    engine = make_async_engine(database_url, pool_size=8)
    yield async_session_factory(engine)
    await engine.dispose()


async def test_concurrent_twins_get_one_stored_answer(
    settings: Settings, committed_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with committed_sessions() as db, db.begin():
        device = await make_device(db, kind=DeviceKind.CHECKOUT)
        member = await make_member(db, balance_cents=300)
    runtime = Runtime(settings, committed_sessions, clock)
    payload = json.dumps({"id": "twin-1", "card": member.card_uid}).encode()
    message = Incoming(topic=f"mkr/v1/{device.slug}/req/card/identify", payload=payload)

    replies = await asyncio.gather(*(runtime.handle(message) for _ in range(8)))

    bodies = {reply.payload for reply in replies if reply is not None}
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["ok"] is True
    async with committed_sessions() as db:
        stored = await db.scalar(
            select(func.count()).where(ProcessedRequest.device_id == device.id)
        )
    assert stored == 1
