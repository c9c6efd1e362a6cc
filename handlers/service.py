"""The handler service: subscribe to every device's requests and answer them.

Stateless by design: run N copies, each on its own broker account slot (MAKERBUS_HANDLER_SLOT);
the shared subscription lets the broker split requests.
Workers use clean sessions, so a crashed worker strands nothing; devices retry with the same id
to cover a request that was in flight at the moment of a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Coroutine
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.address import BrokerAddress
from broker.identities import handler_login
from broker.link import Link, LinkError, LinkLost, connect
from broker.packets import Publish
from broker.topics import RequestTopic
from core.clock import Clock
from core.settings import Settings
from handlers import jobs, metrics
from handlers.ordering import DeviceQueues
from handlers.ratelimit import RateLimiter
from handlers.runtime import Incoming, Outgoing, Runtime

log = logging.getLogger("makerbus.handlers")
PRUNE_EVERY_S = 3600.0
# Requests end on the minute at the finest: once a minute is in time for "overdue".
REQUESTS_EVERY_S = 60.0
MAX_IN_FLIGHT = 256
DRAIN_TIMEOUT_S = 10.0


class Backoff:
    """Exponential backoff with full jitter, reset after a good connection."""

    def __init__(self, base: float = 0.5, cap: float = 15.0) -> None:
        self._base = base
        self._cap = cap
        self._attempt = 0

    def next_delay(self) -> float:
        self._attempt += 1
        return random.uniform(0, min(self._cap, self._base * 2**self._attempt))  # noqa: S311

    def reset(self) -> None:
        self._attempt = 0


def _incoming(message: Publish) -> Incoming:
    return Incoming(
        topic=message.topic,
        payload=message.payload,
        response_topic=message.response_topic,
        correlation_data=message.correlation_data,
        retain=message.retain,
    )


class HandlerService:
    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
    ) -> None:
        self.settings = settings
        self.runtime = Runtime(settings, sessions, clock)
        self._sessions = sessions
        self._clock = clock
        self._stopping = asyncio.Event()
        self._device_queues = DeviceQueues()
        self._limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        self._capacity = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._in_flight: set[asyncio.Task[None]] = set()
        self.address = BrokerAddress(settings.mqtt_host, settings.mqtt_port, settings.mqtt_ca_file)
        self.login = handler_login(settings, settings.handler_slot)
        self._snipeit = jobs.snipeit_job(settings, sessions, clock)

    def stop(self) -> None:
        """Ask the service to finish the requests it has and disconnect."""
        self._stopping.set()

    async def run(self) -> None:
        """Serve until `stop()`, reconnecting with backoff whenever the broker goes away."""
        backoff = Backoff()
        try:
            while not self._stopping.is_set():
                try:
                    await self._serve_connection(backoff)
                except LinkError as error:
                    metrics.CONNECTED.set(0)
                    delay = backoff.next_delay()
                    log.warning(
                        "broker connection lost, retrying",
                        extra={"error": str(error), "retry_in_s": round(delay, 2)},
                    )
                    metrics.RECONNECTS.inc()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
        finally:
            metrics.CONNECTED.set(0)
            if self._snipeit is not None:
                self._snipeit.cancel()

    async def _serve_connection(self, backoff: Backoff) -> None:
        filter_ = self.runtime.topics.shared_requests(self.settings.share_group)
        async with connect(self.address, self.login) as mqtt:
            # Retain as published: without it a live retained request looks like any other.
            await mqtt.subscribe(filter_, retain_as_published=True)
            metrics.CONNECTED.set(1)
            backoff.reset()
            log.info(
                "serving requests",
                extra={"subscription": filter_, "account": self.login.username},
            )
            consumer = asyncio.create_task(self._consume(mqtt))
            background = asyncio.create_task(self._jobs_forever(mqtt))
            stopper = asyncio.create_task(self._stopping.wait())
            done, _ = await asyncio.wait(
                {consumer, background, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            stopper.cancel()
            background.cancel()
            if stopper in done:
                await asyncio.gather(background, return_exceptions=True)
                await self._drain(mqtt, consumer, filter_)
                return
            # The consumer or the jobs stopped on their own: the connection is gone.
            consumer.cancel()
            outcomes = await asyncio.gather(consumer, background, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, Exception):
                    raise outcome
            raise LinkLost("the broker connection ended")

    async def _consume(self, mqtt: Link) -> None:
        async for message in mqtt.messages():
            incoming = _incoming(message)
            parsed = self.runtime.topics.parse_request(incoming.topic)
            slug = parsed.slug if parsed else ""
            if incoming.retain:
                if not incoming.payload:
                    continue  # a retained request being cleared (by us): nothing to answer
                # Even on a topic that names no op: everything under req/ is cleared. Started
                # first, so the broker has cleared it before the answer arrives.
                await self._spawn(self._clear_retained(mqtt, incoming.topic))
                # Refused without the database, like an over-limit request: no token needed.
                await self._spawn(self._answer(mqtt, slug, incoming, parsed))
                continue
            verdict = self._limiter.check(slug)
            if verdict.admitted:
                await self._spawn(self._answer(mqtt, slug, incoming, parsed))
            else:
                reply = self.runtime.rate_limited(
                    incoming, parsed, verdict.retry_after_ms, log_it=verdict.first_refusal
                )
                await self._spawn(self._publish(mqtt, reply))

    async def _spawn(self, work: Coroutine[None, None, None]) -> None:
        # Bounded work in progress: past the cap, new messages wait here.
        await self._capacity.acquire()
        task = asyncio.create_task(work)
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    async def _clear_retained(self, mqtt: Link, topic: str) -> None:
        """Delete a retained request from the broker, so no new subscriber receives a copy."""
        try:
            await mqtt.publish(topic, b"", retain=True)
        except LinkError as error:
            log.warning("retained request not cleared", extra={"error": str(error)})

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._capacity.release()

    async def _answer(
        self, mqtt: Link, slug: str, incoming: Incoming, target: RequestTopic | None
    ) -> None:
        # Requests of one device are answered in order; different devices run in parallel.
        async with self._device_queues.turn(slug):
            await self._publish(mqtt, await self._handle(incoming, target))

    async def _handle(self, incoming: Incoming, target: RequestTopic | None) -> Outgoing | None:
        try:
            return await self.runtime.handle(incoming, target)
        except Exception:
            log.exception("unexpected failure while answering")
            return None

    async def _publish(self, mqtt: Link, reply: Outgoing | None) -> None:
        if reply is None:
            return
        try:
            # MQTT 5 answers echo the request's correlation data.
            await mqtt.publish(reply.topic, reply.payload, correlation_data=reply.correlation_data)
        except LinkError as error:
            # The answer is stored; the device's retry with the same id will get it.
            log.warning("answer not delivered", extra={"error": str(error)})

    async def _drain(self, mqtt: Link, consumer: asyncio.Task[None], filter_: str) -> None:
        """Graceful stop: take no new requests, answer the ones received, then disconnect."""
        log.info("stopping: draining in-flight requests")
        with contextlib.suppress(LinkError):
            await mqtt.unsubscribe(filter_)
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=DRAIN_TIMEOUT_S)

    async def _jobs_forever(self, mqtt: Link) -> None:
        """While connected: sweep sessions often, equipment requests each minute, prune
        stored answers hourly, start a Snipe-IT sync every MAKERBUS_SNIPEIT_SYNC_INTERVAL_S
        (when it is on)."""
        keep = timedelta(days=self.settings.idempotency_retention_days)
        heartbeat = timedelta(seconds=self.settings.heartbeat_period_s)
        last_prune = last_requests = float("-inf")

        async def publish(topic: str, payload: bytes) -> None:
            await mqtt.publish(topic, payload)

        while True:
            try:
                await jobs.sweep_sessions(
                    self._sessions, self._clock, heartbeat, self.runtime.topics, publish
                )
                if time.monotonic() - last_requests >= REQUESTS_EVERY_S:
                    await jobs.sweep_requests(self._sessions, self._clock)
                    last_requests = time.monotonic()
                if time.monotonic() - last_prune >= PRUNE_EVERY_S:
                    await jobs.prune_answers(self._sessions, self._clock, keep)
                    last_prune = time.monotonic()
                if self._snipeit is not None:
                    self._snipeit.poke()
            except LinkLost:
                raise
            except Exception:
                log.exception("background job failed; retrying on the next sweep")
            await asyncio.sleep(self.settings.sweep_interval_s)
