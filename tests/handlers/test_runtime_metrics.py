"""What the runtime counts: one request per handled message, one error per error answer sent."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.contract import OpSpec
from broker.contract.common import NoFields
from broker.contract.devices import DeviceConfigAnswer
from broker.errors import ErrorCode
from core.clock import FrozenClock
from core.devices import DeviceRef
from core.formats import DeviceKind
from core.settings import Settings
from handlers.context import Decline, OpContext
from handlers.registry import OPS, Op
from handlers.runtime import Incoming, Runtime
from tests.factories import unique_uid
from tests.handlers.messages import handle, request

Counts = Callable[[], tuple[float, float, float]]


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counts(op: str, code: str) -> Counts:
    """(requests, errors with `code`, replays) of `op` so far."""
    return lambda: (
        _sample("makerbus_requests_total", op=op),
        _sample("makerbus_request_errors_total", op=op, code=code),
        _sample("makerbus_request_replays_total", op=op),
    )


async def answered(runtime: Runtime, message: Incoming) -> None:
    assert await handle(runtime, message) is not None


def delta(before: tuple[float, ...], after: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(b - a for a, b in zip(before, after, strict=True))


async def test_a_domain_error_counts_one_request_and_one_error(
    runtime: Runtime, machine: DeviceRef
) -> None:
    now = counts("card/identify", "unknown_card")
    before = now()

    await answered(
        runtime, request(machine.slug, "card/identify", {"id": "m1", "card": unique_uid()})
    )

    assert delta(before, now()) == (1, 1, 0)


async def test_a_replayed_error_counts_a_replay_and_no_new_error(
    runtime: Runtime, machine: DeviceRef
) -> None:
    now = counts("card/identify", "unknown_card")
    retry = request(machine.slug, "card/identify", {"id": "m2", "card": unique_uid()})
    await answered(runtime, retry)
    before = now()

    await answered(runtime, retry)

    assert delta(before, now()) == (1, 0, 1)


async def test_a_decline_counts_one_request_and_one_error(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    machine: DeviceRef,
) -> None:
    async def declining(req: NoFields, ctx: OpContext) -> Decline:
        return Decline(ErrorCode.INSUFFICIENT_FUNDS, "no money", {"balance_cents": 0})

    spec = OpSpec("test/decline", NoFields, DeviceConfigAnswer, frozenset(DeviceKind), "test op")
    runtime = Runtime(settings, sessions, clock, ops={**OPS, spec.name: Op(spec, declining)})
    now = counts(spec.name, "insufficient_funds")
    before = now()

    await answered(runtime, request(machine.slug, spec.name, {"id": "m6"}))

    assert delta(before, now()) == (1, 1, 0)


async def test_a_refusal_before_the_op_counts_one_request_and_one_error(
    runtime: Runtime, machine: DeviceRef
) -> None:
    now = counts("device/config", "bad_request")
    before = now()

    await answered(runtime, request(machine.slug, "device/config", {"id": "m3"}, retain=True))

    assert delta(before, now()) == (1, 1, 0)


async def test_an_unknown_op_is_counted_under_unknown(runtime: Runtime, machine: DeviceRef) -> None:
    now = counts("unknown", "unknown_op")
    before = now()

    await answered(runtime, request(machine.slug, "coffee/brew", {"id": "m4"}))

    assert delta(before, now()) == (1, 1, 0)


async def test_a_rate_limited_message_counts_an_error_but_no_request(
    runtime: Runtime, machine: DeviceRef
) -> None:
    now = counts("device/config", "rate_limited")
    incoming = request(machine.slug, "device/config", {"id": "m5"})
    before = now()

    runtime.rate_limited(incoming, runtime.topics.parse_request(incoming.topic), 100, log_it=False)

    assert delta(before, now()) == (0, 1, 0)
