"""Twins of one request racing through separate connections are answered once, identically;
concurrent heartbeats of one session charge a due interval once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.billing import Tariff
from core.clock import FrozenClock, SystemClock
from core.db import async_session_factory, make_async_engine
from core.models import LedgerEntry, MachineSession, Member
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


async def _due_session(
    runtime: Runtime, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> tuple[str, int, int]:
    """A machine's running session whose next interval is due: (slug, session id, member id)."""
    async with sessions() as db, db.begin():
        machine = await make_machine(db, Tariff(100, 20, 15))
        member = await make_member(db, balance_cents=10_000)
        await grant(db, machine, member)
    start = json.dumps({"id": "start", "card": member.card_uid}).encode()
    message = Incoming(topic=f"mkr/v1/{machine.slug}/req/session/start", payload=start)
    reply = await runtime.handle(message, runtime.topics.parse_request(message.topic))
    assert reply is not None
    clock.advance(timedelta(minutes=14))
    return machine.slug, json.loads(reply.payload)["session_id"], member.member_id


async def _heartbeats(runtime: Runtime, slug: str, bodies: list[dict[str, object]]) -> list[bytes]:
    messages = [
        Incoming(topic=f"mkr/v1/{slug}/req/session/heartbeat", payload=json.dumps(body).encode())
        for body in bodies
    ]
    replies = await asyncio.gather(
        *(runtime.handle(m, runtime.topics.parse_request(m.topic)) for m in messages)
    )
    return [reply.payload for reply in replies if reply is not None]


async def _connected(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    """Open `count` pooled connections, so that racing requests do not wait for one to open."""

    async def connect() -> None:
        async with sessions() as db:
            await db.execute(select(1))
            await asyncio.sleep(0)

    await asyncio.gather(*(connect() for _ in range(count)))


async def _charges(sessions: async_sessionmaker[AsyncSession], member_id: int) -> tuple[int, int]:
    """The member's balance and how many ledger lines their session has."""
    async with sessions() as db:
        balance = await db.scalar(select(Member.balance_cents).where(Member.id == member_id))
        lines = await db.scalar(
            select(func.count()).where(
                LedgerEntry.member_id == member_id, LedgerEntry.session_id.is_not(None)
            )
        )
    assert balance is not None
    assert lines is not None
    return balance, lines


async def test_concurrent_heartbeats_of_one_session_charge_a_due_interval_once(
    settings: Settings, committed_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    runtime = Runtime(settings, committed_sessions, clock)
    slug, session_id, member_id = await _due_session(runtime, committed_sessions, clock)

    answers = await _heartbeats(
        runtime, slug, [{"id": f"beat-{n}", "session_id": session_id} for n in range(8)]
    )

    charged = [json.loads(answer)["charged_cents"] for answer in answers]
    assert (len(answers), sorted(charged)) == (8, [0] * 7 + [300])
    assert await _charges(committed_sessions, member_id) == (10_000 - 400 - 300, 3)


async def test_concurrent_twins_of_a_heartbeat_charge_once_and_answer_alike(
    settings: Settings, committed_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    runtime = Runtime(settings, committed_sessions, clock)
    slug, session_id, member_id = await _due_session(runtime, committed_sessions, clock)

    answers = await _heartbeats(runtime, slug, [{"id": "twin", "session_id": session_id}] * 8)

    assert len(answers) == 8
    assert len(set(answers)) == 1
    assert json.loads(answers[0])["charged_cents"] == 300
    assert await _charges(committed_sessions, member_id) == (10_000 - 400 - 300, 3)


async def test_members_starting_on_one_machine_at_once_get_one_session_and_the_rest_busy(
    settings: Settings, committed_sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with committed_sessions() as db, db.begin():
        machine = await make_machine(db, Tariff(100, 20, 15))
        members = [await make_member(db, balance_cents=1000) for _ in range(6)]
        for member in members:
            await grant(db, machine, member)
    runtime = Runtime(settings, committed_sessions, clock)
    await _connected(committed_sessions, 6)
    messages = [
        Incoming(
            topic=f"mkr/v1/{machine.slug}/req/session/start",
            payload=json.dumps({"id": f"start-{n}", "card": member.card_uid}).encode(),
        )
        for n, member in enumerate(members)
    ]

    replies = await asyncio.gather(
        *(runtime.handle(m, runtime.topics.parse_request(m.topic)) for m in messages)
    )

    answers = sorted(json.loads(reply.payload).get("error", "ok") for reply in replies if reply)
    assert answers == ["machine_busy"] * 5 + ["ok"]
    charged = [await _charges(committed_sessions, member.member_id) for member in members]
    assert sorted(charged) == [(600, 2)] + [(1000, 0)] * 5
