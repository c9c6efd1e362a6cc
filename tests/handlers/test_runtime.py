"""The runtime on a real database, called without a broker: dispatch, checks, idempotency."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.contract import OpSpec
from broker.contract.common import NoFields
from broker.contract.devices import DeviceConfigAnswer
from core.billing import Tariff, TariffOverride
from core.clock import FrozenClock
from core.devices import DeviceRef
from core.formats import DeviceKind
from core.models import Device, Member
from core.settings import Settings
from handlers.context import OpContext
from handlers.registry import OPS, Op
from handlers.runtime import Incoming, Runtime
from tests.factories import grant, make_device, make_machine, make_member, unique_uid
from tests.handlers.messages import handle, request


async def answer(runtime: Runtime, message: Incoming) -> dict[str, Any]:
    reply = await handle(runtime, message)
    assert reply is not None
    result: dict[str, Any] = json.loads(reply.payload)
    return result


async def test_device_config_tells_the_device_about_itself(
    runtime: Runtime, machine: DeviceRef
) -> None:
    body = await answer(runtime, request(machine.slug, "device/config", {"id": "c1"}))

    assert body == {
        "id": "c1",
        "ok": True,
        "slug": machine.slug,
        "name": machine.name,
        "kind": "machine",
        "currency": "EUR",
        "heartbeat_s": 30,
        "server_time": "2026-11-21T09:00:00Z",
    }


async def test_identify_answers_with_the_holder(runtime: Runtime, db: AsyncSession) -> None:
    checkout = await make_device(db, kind=DeviceKind.CHECKOUT)
    uid = unique_uid()
    member = await make_member(db, name="Ada", balance_cents=500, card=uid)
    await db.commit()

    body = await answer(runtime, request(checkout.slug, "card/identify", {"id": "i1", "card": uid}))

    assert body == {
        "id": "i1",
        "ok": True,
        "member_id": member.member_id,
        "name": "Ada",
        "balance_cents": 500,
        "has_pin": False,
    }


async def test_identify_on_a_machine_tells_access_and_prices(
    runtime: Runtime, db: AsyncSession
) -> None:
    machine = await make_machine(db, Tariff(100, 20, 15))
    allowed, stranger = await make_member(db), await make_member(db)
    await grant(db, machine, allowed, TariffOverride(price_per_minute_cents=5))
    await db.commit()

    yes = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "m1", "card": allowed.card_uid})
    )
    no = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "m2", "card": stranger.card_uid})
    )

    assert (yes["authorized"], yes["tariff"]) == (
        True,
        {"login_fee_cents": 100, "price_per_minute_cents": 5, "interval_min": 15},
    )
    assert (no["authorized"], "tariff" in no) == (False, False)


async def test_identify_accepts_lower_case_uids(
    runtime: Runtime, machine: DeviceRef, db: AsyncSession
) -> None:
    uid = unique_uid()
    await make_member(db, card=uid)
    await db.commit()

    body = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "i2", "card": uid.lower()})
    )

    assert body["ok"] is True


async def test_unknown_card_is_a_domain_error(runtime: Runtime, machine: DeviceRef) -> None:
    body = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "u1", "card": unique_uid()})
    )

    assert (body["ok"], body["error"]) == (False, "unknown_card")


async def test_same_id_twice_returns_the_stored_answer_and_runs_once(
    runtime: Runtime, machine: DeviceRef, db: AsyncSession
) -> None:
    uid = unique_uid()
    member = await make_member(db, balance_cents=500, card=uid)
    await db.commit()
    first = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "dup", "card": uid})
    )
    await db.execute(update(Member).where(Member.id == member.member_id).values(balance_cents=1))
    await db.commit()

    second = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "dup", "card": uid})
    )

    assert second == first
    assert second["balance_cents"] == 500  # the op did not run again


async def test_stored_domain_errors_are_replayed_too(
    runtime: Runtime, machine: DeviceRef, db: AsyncSession
) -> None:
    uid = unique_uid()
    first = await answer(runtime, request(machine.slug, "card/identify", {"id": "e1", "card": uid}))
    await make_member(db, card=uid)
    await db.commit()

    second = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "e1", "card": uid})
    )

    assert second == first
    assert first["error"] == "unknown_card"


async def test_an_id_reused_for_a_different_request_is_refused(
    runtime: Runtime, machine: DeviceRef
) -> None:
    await answer(runtime, request(machine.slug, "device/config", {"id": "same"}))

    body = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "same", "card": unique_uid()})
    )

    assert body["error"] == "bad_request"
    assert "already used" in body["message"]


@pytest.mark.parametrize(
    ("payload", "expected_id", "fragment"),
    [
        (b"{not json", None, "not valid JSON"),
        (b"[]", None, "JSON object"),
        (b'{"card": "04A1B2C3"}', None, "id: required"),
        (b'{"id": "bad id!", "card": "04A1B2C3"}', None, "id: must be"),
        (b'{"id": "t1", "card": 1234}', "t1", "card:"),
        (b'{"id": "t2", "card": "04A1B2"}', "t2", "card:"),
        (b'{"id": "t3"}', "t3", "card: Field required"),
        (b'{"id": "t4", "card": "04A1B2C3", "extra": 1}', "t4", "extra:"),
    ],
)
async def test_bad_input_gets_bad_request_naming_the_problem(
    runtime: Runtime, machine: DeviceRef, payload: bytes, expected_id: str | None, fragment: str
) -> None:
    body = await answer(runtime, request(machine.slug, "card/identify", payload))

    assert (body["id"], body["ok"], body["error"]) == (expected_id, False, "bad_request")
    assert fragment in body["message"]


async def test_hostile_strings_are_never_echoed(runtime: Runtime, machine: DeviceRef) -> None:
    hostile = "<script>alert(1)</script>'; DROP TABLE members; --"

    body = await answer(
        runtime, request(machine.slug, "card/identify", {"id": "h1", "card": hostile})
    )

    assert body["error"] == "bad_request"
    assert hostile not in json.dumps(body)


async def test_unknown_op(runtime: Runtime, machine: DeviceRef) -> None:
    body = await answer(runtime, request(machine.slug, "coffee/brew", {"id": "x1"}))

    assert (body["id"], body["error"]) == ("x1", "unknown_op")


async def test_an_op_the_kind_may_not_use_is_forbidden(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    machine: DeviceRef,
) -> None:
    async def checkout_only(req: NoFields, ctx: OpContext) -> DeviceConfigAnswer:
        raise AssertionError("must not run for a machine")

    spec = OpSpec(
        "test/checkout-only",
        NoFields,
        DeviceConfigAnswer,
        frozenset({DeviceKind.CHECKOUT}),
        "test op",
    )
    runtime = Runtime(settings, sessions, clock, ops={**OPS, spec.name: Op(spec, checkout_only)})

    body = await answer(runtime, request(machine.slug, spec.name, {"id": "f1"}))

    assert body["error"] == "forbidden_op"


async def test_unregistered_device_gets_forbidden(runtime: Runtime) -> None:
    body = await answer(runtime, request("ghost-device", "device/config", {"id": "g1"}))

    assert body["error"] == "forbidden_op"


async def test_a_rate_limited_request_is_answered_with_its_id_and_when_to_retry(
    runtime: Runtime, machine: DeviceRef
) -> None:
    message = request(machine.slug, "device/config", {"id": "fl-1"})

    reply = runtime.rate_limited(
        message, runtime.topics.parse_request(message.topic), 250, log_it=True
    )

    assert reply is not None
    assert json.loads(reply.payload) == {
        "id": "fl-1",
        "ok": False,
        "error": "rate_limited",
        "message": "too many requests, retry after retry_after_ms",
        "retry_after_ms": 250,
    }


async def test_v5_response_topic_below_own_res_is_used(
    runtime: Runtime, machine: DeviceRef
) -> None:
    own = f"mkr/v1/{machine.slug}/res/device/config/abc"

    reply = await handle(
        runtime,
        request(
            machine.slug,
            "device/config",
            {"id": "r1"},
            response_topic=own,
            correlation_data=b"\x01\x02",
        ),
    )

    assert reply is not None
    assert (reply.topic, reply.correlation_data) == (own, b"\x01\x02")


async def test_v5_response_topic_of_another_device_is_ignored(
    runtime: Runtime, machine: DeviceRef
) -> None:
    reply = await handle(
        runtime,
        request(
            machine.slug,
            "device/config",
            {"id": "r2"},
            response_topic="mkr/v1/victim/res/device/config",
        ),
    )

    assert reply is not None
    assert reply.topic == f"mkr/v1/{machine.slug}/res/device/config"


async def test_a_retained_request_is_refused_with_its_id(
    runtime: Runtime, machine: DeviceRef
) -> None:
    body = await answer(runtime, request(machine.slug, "device/config", {"id": "k1"}, retain=True))

    assert body == {
        "id": "k1",
        "ok": False,
        "error": "bad_request",
        "message": "retained requests are not accepted: publish requests with retain=0",
    }


async def test_database_down_answers_unavailable(settings: Settings, clock: FrozenClock) -> None:
    from core.db import async_session_factory, make_async_engine

    engine = make_async_engine("postgresql://nobody@127.0.0.1:1/none")
    runtime = Runtime(settings, async_session_factory(engine), clock)

    body = await answer(runtime, request("some-device", "device/config", {"id": "d1"}))

    assert (body["id"], body["error"]) == ("d1", "unavailable")
    await engine.dispose()


async def test_a_failing_op_answers_internal_and_the_next_request_is_served(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    machine: DeviceRef,
) -> None:
    async def broken(req: NoFields, ctx: OpContext) -> DeviceConfigAnswer:
        raise RuntimeError("a bug")

    spec = OpSpec("test/broken", NoFields, DeviceConfigAnswer, frozenset(DeviceKind), "test op")
    runtime = Runtime(settings, sessions, clock, ops={**OPS, spec.name: Op(spec, broken)})

    failed = await answer(runtime, request(machine.slug, spec.name, {"id": "b1"}))
    served = await answer(runtime, request(machine.slug, "device/config", {"id": "b2"}))

    assert (failed["id"], failed["error"]) == ("b1", "internal")
    assert served["ok"] is True


async def test_an_integrity_error_that_is_no_twin_answers_internal(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    machine: DeviceRef,
) -> None:
    async def duplicate_slug(req: NoFields, ctx: OpContext) -> DeviceConfigAnswer:
        await ctx.db.execute(
            insert(Device).values(
                slug=ctx.device.slug, kind="machine", name="twin", enabled=True, created_at=ctx.now
            )
        )
        raise AssertionError("the insert must fail")

    spec = OpSpec("test/dup", NoFields, DeviceConfigAnswer, frozenset(DeviceKind), "test op")
    runtime = Runtime(settings, sessions, clock, ops={**OPS, spec.name: Op(spec, duplicate_slug)})

    body = await answer(runtime, request(machine.slug, spec.name, {"id": "i1"}))

    assert body["error"] == "internal"


async def test_hostile_field_names_are_not_echoed(runtime: Runtime, machine: DeviceRef) -> None:
    body = await answer(
        runtime,
        request(machine.slug, "device/config", {"id": "k2", "<img src=x onerror=alert(1)>": 1}),
    )

    assert body["error"] == "bad_request"
    assert "<img" not in body["message"]
    assert "unreadable field name" in body["message"]
