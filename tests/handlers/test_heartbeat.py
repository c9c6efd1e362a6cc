"""`session/heartbeat` through the runtime: its hot path (`core.hotpath`) answers as the general
path does, byte for byte, and a retry is answered from the stored answer without running again."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.billing import Tariff
from core.clock import FrozenClock
from core.devices import DeviceRef
from core.models import Device, LedgerEntry, MachineSession, Member
from handlers.registry import OPS
from handlers.runtime import Runtime
from tests.factories import assert_ledger_matches_balances, grant, make_machine, make_member
from tests.handlers.messages import handle, request

HEARTBEAT = "session/heartbeat"
# Start prepays 15 minutes; at 14 the next interval is due (less than two heartbeats left).
TARIFF = Tariff(login_fee_cents=100, price_per_minute_cents=20, interval_min=15)
START_COSTS = 400


@dataclasses.dataclass(frozen=True)
class Running:
    machine: DeviceRef
    member_id: int
    session_id: int


async def send(runtime: Runtime, slug: str, op: str, body: dict[str, Any]) -> bytes:
    reply = await handle(runtime, request(slug, op, body))
    assert reply is not None
    return reply.payload


async def running(runtime: Runtime, db: AsyncSession, *, balance_cents: int) -> Running:
    """A machine with a session started just now by a member with `balance_cents` before it."""
    machine = await make_machine(db, TARIFF)
    member = await make_member(db, balance_cents=balance_cents)
    await grant(db, machine, member)
    await db.commit()
    started = await send(
        runtime, machine.slug, "session/start", {"id": "start", "card": member.card_uid}
    )
    return Running(machine, member.member_id, json.loads(started)["session_id"])


def general_path(runtime: Runtime) -> Runtime:
    """The same runtime with no op on the hot path."""
    ops = {name: dataclasses.replace(op, hot=None) for name, op in OPS.items()}
    return Runtime(runtime.settings, runtime._sessions, runtime._clock, ops)


async def beat(runtime: Runtime, session: Running, request_id: str) -> bytes:
    body = {"id": request_id, "session_id": session.session_id}
    return await send(runtime, session.machine.slug, HEARTBEAT, body)


async def ledger_lines(db: AsyncSession, session: Running) -> int:
    count = await db.scalar(
        select(func.count()).where(LedgerEntry.session_id == session.session_id)
    )
    assert count is not None
    return count


async def balance(db: AsyncSession, session: Running) -> int:
    found = await db.scalar(select(Member.balance_cents).where(Member.id == session.member_id))
    assert found is not None
    return found


def without_session_id(answer: bytes, session: Running) -> dict[str, Any]:
    """The answer with no trace of which of two like sessions it is about."""
    body: dict[str, Any] = json.loads(answer)
    body.pop("session_id", None)
    if "message" in body:
        body["message"] = body["message"].replace(f"session {session.session_id} ", "session ")
    return body


async def nothing(runtime: Runtime, db: AsyncSession, session: Running) -> None:
    """No change: the paid time reaches beyond two heartbeats."""


async def end_it(runtime: Runtime, db: AsyncSession, session: Running) -> None:
    body = {"id": "end", "session_id": session.session_id}
    await send(runtime, session.machine.slug, "session/end", body)


Scenario = Callable[[Runtime, AsyncSession, Running], Awaitable[None]]


@pytest.mark.parametrize(
    ("balance_cents", "minutes", "before", "session_offset"),
    [
        pytest.param(10_000, 1, nothing, 0, id="paid-up"),
        pytest.param(10_000, 14, nothing, 0, id="interval-due"),
        pytest.param(START_COSTS, 14, nothing, 0, id="unfunded"),
        pytest.param(10_000, 16, nothing, 0, id="paid-time-over"),
        pytest.param(10_000, 1, end_it, 0, id="ended"),
        pytest.param(10_000, 1, nothing, 10**9, id="unknown-session"),
    ],
)
async def test_the_hot_path_answers_as_the_general_path(
    runtime: Runtime,
    db: AsyncSession,
    clock: FrozenClock,
    balance_cents: int,
    minutes: int,
    before: Scenario,
    session_offset: int,
) -> None:
    hot, general = (
        await running(runtime, db, balance_cents=balance_cents),
        await running(runtime, db, balance_cents=balance_cents),
    )
    for session in (hot, general):
        await before(runtime, db, session)
    clock.advance(timedelta(minutes=minutes))
    hot = dataclasses.replace(hot, session_id=hot.session_id + session_offset)
    general = dataclasses.replace(general, session_id=general.session_id + session_offset)

    hot_answer = await beat(runtime, hot, "h1")
    general_answer = await beat(general_path(runtime), general, "h1")

    assert without_session_id(hot_answer, hot) == without_session_id(general_answer, general)
    assert (await balance(db, hot), await ledger_lines(db, hot)) == (
        await balance(db, general),
        await ledger_lines(db, general),
    )
    await assert_ledger_matches_balances(db)


async def test_a_heartbeat_answer_is_exact(
    runtime: Runtime, db: AsyncSession, clock: FrozenClock
) -> None:
    session = await running(runtime, db, balance_cents=10_000)
    clock.advance(timedelta(minutes=1, seconds=30))

    answer = await beat(runtime, session, "h1")

    assert (
        answer
        == (
            f'{{"id":"h1","ok":true,"session_id":{session.session_id},'
            '"paid_until":"2026-11-21T09:15:00Z","remaining_s":810,"max_s":29610,'
            '"charged_cents":0,"balance_cents":9600}'
        ).encode()
    )


async def test_a_retried_heartbeat_gets_the_stored_answer_and_charges_once(
    runtime: Runtime, db: AsyncSession, clock: FrozenClock
) -> None:
    session = await running(runtime, db, balance_cents=10_000)
    clock.advance(timedelta(minutes=14))
    first = await beat(runtime, session, "h1")
    clock.advance(timedelta(seconds=20))

    retried = await beat(runtime, session, "h1")

    assert retried == first
    assert json.loads(first)["charged_cents"] == 300
    assert (await balance(db, session), await ledger_lines(db, session)) == (9300, 3)


async def test_a_retried_heartbeat_changes_nothing(
    runtime: Runtime, db: AsyncSession, clock: FrozenClock
) -> None:
    session = await running(runtime, db, balance_cents=10_000)
    clock.advance(timedelta(minutes=1))
    await beat(runtime, session, "h1")
    seen = select(MachineSession.last_heartbeat_at).where(MachineSession.id == session.session_id)
    recorded = await db.scalar(seen)
    clock.advance(timedelta(minutes=1))

    await beat(runtime, session, "h1")

    assert await db.scalar(seen) == recorded


async def test_a_stored_refusal_is_replayed_to_a_retried_heartbeat(
    runtime: Runtime, db: AsyncSession, clock: FrozenClock
) -> None:
    session = await running(runtime, db, balance_cents=10_000)
    clock.advance(timedelta(minutes=16))
    first = await beat(runtime, session, "h1")
    await db.execute(
        update(MachineSession)
        .where(MachineSession.id == session.session_id)
        .values(paid_until=clock.now() + timedelta(hours=1))
    )
    await db.commit()

    retried = await beat(runtime, session, "h1")

    assert retried == first
    assert json.loads(first)["error"] == "session_closed"


async def test_an_id_reused_for_another_heartbeat_is_refused(
    runtime: Runtime, db: AsyncSession, clock: FrozenClock
) -> None:
    session = await running(runtime, db, balance_cents=10_000)
    other = await running(runtime, db, balance_cents=10_000)
    await beat(runtime, session, "h1")

    refused = json.loads(
        await send(
            runtime,
            session.machine.slug,
            HEARTBEAT,
            {"id": "h1", "session_id": other.session_id},
        )
    )

    assert (refused["error"], refused["message"]) == (
        "bad_request",
        "id: already used for a different request; use a new id",
    )


async def test_the_hot_path_records_the_heartbeat_and_last_seen(
    runtime: Runtime, db: AsyncSession, clock: FrozenClock
) -> None:
    session = await running(runtime, db, balance_cents=10_000)
    clock.advance(timedelta(minutes=2))

    await beat(runtime, session, "h1")

    heard = await db.scalar(
        select(MachineSession.last_heartbeat_at).where(MachineSession.id == session.session_id)
    )
    seen = await db.scalar(select(Device.last_seen_at).where(Device.id == session.machine.id))
    assert (heard, seen) == (clock.now(), clock.now())


async def test_invalid_fields_get_bad_request_naming_them(
    runtime: Runtime, db: AsyncSession
) -> None:
    session = await running(runtime, db, balance_cents=10_000)

    body = json.loads(
        await send(runtime, session.machine.slug, HEARTBEAT, {"id": "h1", "session_id": 0})
    )

    assert body["error"] == "bad_request"
    assert body["message"].startswith("session_id:")
