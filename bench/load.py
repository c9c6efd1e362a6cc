"""Closed-loop load: each simulated device sends its next request as soon as it has the answer.

MQTT 5 clients with response topic and correlation data, one connection per device, all in one
asyncio loop of the benchmark process.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.cpu import snapshot

NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class BenchDevice:
    def __init__(self, port: int, slug: str, password: str) -> None:
        self.slug = slug
        self._client = aiomqtt.Client(
            "127.0.0.1",
            port,
            username=slug,
            password=password,
            identifier=slug,
            protocol=aiomqtt.ProtocolVersion.V5,
            socket_options=NODELAY,
        )
        self._client.pending_calls_threshold = 10_000
        self._pending: dict[bytes, asyncio.Future[dict[str, object]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._prefix = uuid.uuid4().hex[:8]
        self._counter = 0
        self.answers = 0  # answers received so far, for the CPU cost per answer

    async def __aenter__(self) -> BenchDevice:
        await self._client.__aenter__()
        await self._client.subscribe(f"mkr/v1/{self.slug}/res/#", qos=1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self._client.__aexit__(None, None, None)

    async def _read(self) -> None:
        async for message in self._client.messages:
            correlation = getattr(message.properties, "CorrelationData", None)
            future = self._pending.pop(correlation, None) if correlation else None
            if future is not None and not future.done():
                self.answers += 1
                future.set_result(json.loads(message.payload))

    async def request(self, op: str, **fields: object) -> dict[str, object]:
        self._counter += 1
        correlation = uuid.uuid4().bytes
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ResponseTopic = f"mkr/v1/{self.slug}/res/{op}"
        properties.CorrelationData = correlation
        future: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        self._pending[correlation] = future
        payload = json.dumps({"id": f"{self._prefix}-{self._counter}", **fields})
        await self._client.publish(
            f"mkr/v1/{self.slug}/req/{op}", payload, qos=1, properties=properties
        )
        return await asyncio.wait_for(future, 10.0)


@dataclass
class Result:
    """What ended in the measured window: operations, answers, the watched processes' CPU."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    answers: int = 0
    cpu: dict[int, float] = field(default_factory=dict)  # CPU seconds by process id

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


Loop = Callable[[BenchDevice], Awaitable[bool]]


async def closed_loop(
    devices: list[BenchDevice],
    one: Loop,
    *,
    seconds: float,
    warmup: float = 0.5,
    watch: Sequence[int] = (),
) -> Result:
    """Run `one(device)` back to back on every device for `warmup` + `seconds`.

    The measured window starts after the warm-up; an operation counts if it ended inside it.
    The CPU seconds of the processes in `watch` and the answers the devices received are read
    at the window's two ends.
    """
    done: list[tuple[float, float, bool]] = []  # began, ended, ok
    stop_at = time.perf_counter() + warmup + seconds
    result = Result()

    async def drive(device: BenchDevice) -> None:
        while (began := time.perf_counter()) < stop_at:
            ok = await one(device)
            done.append((began, time.perf_counter(), ok))

    async def window() -> tuple[float, float]:
        await asyncio.sleep(warmup)
        opened, answers, cpu = time.perf_counter(), received(devices), snapshot(watch)
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        closed, cpu_after = time.perf_counter(), snapshot(watch)
        result.answers = received(devices) - answers
        result.cpu = {pid: cpu_after[pid] - cpu[pid] for pid in watch}
        return opened, closed

    measured = asyncio.create_task(window())
    await asyncio.gather(*(drive(device) for device in devices))
    opened, closed = await measured
    result.seconds = closed - opened
    for began, finished, ok in done:
        if opened <= finished <= closed:
            if ok:
                result.latencies.append(finished - began)
            else:
                result.errors += 1
    return result


def received(devices: list[BenchDevice]) -> int:
    return sum(device.answers for device in devices)
