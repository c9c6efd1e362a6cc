"""Flow control in front of the runtime: rate limits and per-device ordering."""

from __future__ import annotations

import asyncio

from handlers.ordering import DeviceQueues
from handlers.ratelimit import RateLimiter


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_every_refusal_says_when_the_device_has_a_token_again_and_others_are_not_refused() -> None:
    clock = Ticks()
    limiter = RateLimiter(rate=4.0, burst=3, monotonic=clock)

    noisy = [limiter.check("noisy") for _ in range(5)]
    quiet = limiter.check("quiet")
    clock.now = 0.1  # 0.4 tokens back: 0.6 missing, 150 ms at 4 a second
    refused_later = limiter.check("noisy")
    clock.now = 0.25
    admitted_then = limiter.check("noisy")

    assert [verdict.admitted for verdict in noisy] == [True] * 3 + [False] * 2
    assert [verdict.retry_after_ms for verdict in noisy[3:]] == [250, 250]
    assert quiet.admitted
    assert refused_later.retry_after_ms == 150
    assert admitted_then.admitted


def test_only_the_first_refusal_of_a_second_is_marked_for_the_log() -> None:
    clock = Ticks()
    limiter = RateLimiter(rate=1.0, burst=1, monotonic=clock)
    limiter.check("noisy")

    first = [limiter.check("noisy").first_refusal for _ in range(3)]
    clock.now = 1.5
    limiter.check("noisy")
    again = limiter.check("noisy").first_refusal

    assert first == [True, False, False]
    assert again


async def test_one_devices_requests_run_in_order_and_leave_no_entry_behind() -> None:
    queues = DeviceQueues()
    order: list[int] = []

    async def work(number: int, pause: float) -> None:
        async with queues.turn("lathe-1"):
            await asyncio.sleep(pause)
            order.append(number)

    await asyncio.gather(work(1, 0.03), work(2, 0.0), work(3, 0.01))

    assert order == [1, 2, 3]
    assert len(queues) == 0


async def test_different_devices_run_side_by_side() -> None:
    queues = DeviceQueues()
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> None:
        async with queues.turn("a"):
            started.set()
            await release.wait()

    blocked = asyncio.create_task(slow())
    await started.wait()
    async with queues.turn("b"):
        release.set()
    await blocked

    assert len(queues) == 0
