"""Twins of one request racing through separate connections are answered once, identically."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.billing import Tariff
from core.clock import FrozenClock, SystemClock
from core.db import async_session_factory, make_async_engine
from core.models import MachineSession, Member
from core.settings import Settings
from handlers.runtime import Incoming, Runtime
from tests.factories import grant, make_machine, make_member


@pytest.fixture
def clock() -> FrozenClock:
    """Committed sessions live beside the e2e handler processes, whose reaper runs on real
    time: a session started on a clock from the past would be reaped mid-test."""
    return FrozenClock(SystemClock().now())


@pytest.fixture
async def committed_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Real, separately committing connections (no rollback wrapper): for races."""
    engine = make_async_engine(database_url, pool_size=8)
    yield async_session_factory(engine)
    await engine.dispose()


async def test_concurrent_twins_of_a_start_charge_once_and_answer_alike(
    settings: Settings, committed_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with committed_sessions() as db, db.begin():
        machine = await make_machine(db, Tariff(100, 20, 15))
        member = await make_member(db, balance_cents=1000)
        await grant(db, machine, member)
    runtime = Runtime(settings, committed_sessions, clock)
    payload = json.dumps({"id": "twin-1", "card": member.card_uid}).encode()
    message = Incoming(topic=f"mkr/v1/{machine.slug}/req/session/start", payload=payload)
    target = runtime.topics.parse_request(message.topic)

    replies = await asyncio.gather(*(runtime.handle(message, target) for _ in range(8)))

    bodies = {reply.payload for reply in replies if reply is not None}
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["charged_cents"] == 400
    async with committed_sessions() as db:
        balance = await db.scalar(select(Member.balance_cents).where(Member.id == member.member_id))
        opened = await db.scalar(select(func.count()).where(MachineSession.device_id == machine.id))
    assert (balance, opened) == (600, 1)
