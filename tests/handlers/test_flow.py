"""Flow control in front of the runtime: rate limits and per-device ordering."""

from __future__ import annotations

import asyncio

from handlers.ordering import DeviceQueues
from handlers.ratelimit import RateLimiter, Verdict


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flooding_device_is_refused_once_a_second_and_others_are_not() -> None:
    clock = Ticks()
    limiter = RateLimiter(rate=1.0, burst=3, monotonic=clock)

    noisy = [limiter.check("noisy") for _ in range(6)]
    quiet = limiter.check("quiet")
    clock.now = 1.0
    later = [limiter.check("noisy") for _ in range(2)]

    assert noisy == [Verdict.ADMIT] * 3 + [Verdict.REFUSE, Verdict.DROP, Verdict.DROP]
    assert quiet is Verdict.ADMIT
    assert later == [Verdict.ADMIT, Verdict.REFUSE]


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
