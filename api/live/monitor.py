"""The API process's one broker subscription: every makerbus topic, read-only.

For the app's lifetime the `Monitor` subscribes to `<prefix>/#` with the monitor account of this
process's slot (MAKERBUS_MONITOR_SLOT; each API process needs its own, see broker.identities),
so several API processes each watch on their own. Every message goes to the status board (status
topics) and to the traffic log, which redacts it before keeping anything; what changed is pushed
to the viewers through the hub. Viewers never talk to the broker.

The subscription is QoS 0 and the client's incoming queue is bounded: a monitor that falls
behind loses rows of the traffic list, it never slows the broker or grows without bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt
from fastapi import FastAPI
from paho.mqtt.reasoncodes import ReasonCode

from api.device_status import StatusBoard
from api.live.hub import Hub
from api.live.traffic import Traffic
from broker.address import BrokerAddress
from broker.identities import SlotError, monitor_login
from broker.mqtt import client
from core.clock import Clock, rfc3339
from core.formats import SLUG_PATTERN
from core.settings import Settings, UnsafeSettingsError

log = logging.getLogger("makerbus.api.live")

RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
# Messages aiomqtt may hold before the monitor reads them (2.5 s at 400 messages/s); beyond
# that it drops them. One queued message takes ~6 KB (paho's message with its MQTT 5
# properties): 10,000 were the API's 70 MiB growth in a bench run whose box fell behind.
MAX_QUEUED_INCOMING = 1_000
TICK_S = 1.0
# Statistics go to the health pages every this many ticks.
STATS_EVERY_TICKS = 2
# Events kept encoded: more than a viewer's queue holds, so a viewer behind finds its text too.
ENCODED_KEPT = 2048
_SLUG = re.compile(SLUG_PATTERN)


def server_sent(event: dict[str, Any]) -> str:
    """An event as one Server-Sent Events message."""
    return f"data: {json.dumps(event, separators=(',', ':'))}\n\n"


class EncodedOnce:
    """Each event is written as text once, however many viewers it goes to (the hub hands the
    same object to all of them)."""

    def __init__(self, size: int = ENCODED_KEPT) -> None:
        self._size = size
        self._recent: OrderedDict[int, tuple[dict[str, Any], str]] = OrderedDict()

    def __call__(self, event: dict[str, Any]) -> str:
        found = self._recent.get(id(event))
        if found is not None and found[0] is event:
            return found[1]
        text = server_sent(event)
        self._recent[id(event)] = (event, text)
        if len(self._recent) > self._size:
            self._recent.popitem(last=False)
        return text


class Live:
    """What the live view holds in this process: board, traffic log and the viewers' hub."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.clock = clock
        self.prefix = settings.topic_prefix
        self.hub = Hub()
        self.encoded = EncodedOnce()
        self.board = StatusBoard(on_change=self._status_changed)
        self.traffic = Traffic(settings.topic_prefix, max_payload_bytes=settings.max_payload_bytes)
        self.watching = False
        """False when this process has no monitor account (outside dev, without a password)."""

    @property
    def connected(self) -> bool:
        return self.board.connected

    def set_connected(self, connected: bool) -> None:
        if connected:
            self.board.start_over()
        self.board.connected = connected
        self.hub.publish({"type": "connection", "connected": connected})

    def presence(self, slug: str) -> dict[str, Any]:
        status = self.board.status_of(slug)
        return {
            "type": "presence",
            "device": slug,
            "online": status.online,
            "fw": status.fw,
            "heard_at": rfc3339(status.heard_at) if status.heard_at else None,
        }

    def _status_changed(self, slug: str) -> None:
        self.hub.publish(self.presence(slug))

    def receive(self, topic: str, payload: bytes, *, retained: bool) -> None:
        """One message from the broker: to the board if it is a status, to the traffic log."""
        now = self.clock.now()
        slug = _status_slug(self.prefix, topic)
        if slug is not None:
            self.board.record(slug, payload, retained=retained, now=now)
        for event in self.traffic.observe(topic, payload, retained=retained, now=now):
            self.hub.publish(event)

    def tick(self, count: int) -> None:
        """Once a second: requests that got no answer in time; every few, the statistics."""
        now = self.clock.now()
        for event in self.traffic.expire(now):
            self.hub.publish(event)
        if count % STATS_EVERY_TICKS == 0 and self.hub.viewers:
            self.hub.publish({"type": "stats", "stats": self.traffic.stats.snapshot(now)})


def _status_slug(prefix: str, topic: str) -> str | None:
    head, tail = f"{prefix}/", "/status"
    if not (topic.startswith(head) and topic.endswith(tail)):
        return None
    slug = topic[len(head) : -len(tail)]
    return slug if _SLUG.match(slug) else None


def _is_refusal(code: int | ReasonCode) -> bool:
    return (code.value if isinstance(code, ReasonCode) else code) >= 0x80


class Monitor:
    """Feeds a `Live` from `<prefix>/#`; reconnects with backoff until cancelled."""

    def __init__(self, settings: Settings, live: Live) -> None:
        self.live = live
        self._filter = f"{settings.topic_prefix}/#"
        self._address = BrokerAddress(settings.mqtt_host, settings.mqtt_port, settings.mqtt_ca_file)
        self._login = monitor_login(settings)

    async def run(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            subscribed = False
            try:
                async with self._client() as mqtt:
                    await self._subscribe(mqtt)
                    subscribed = True
                    self.live.set_connected(True)
                    log.info("watching the broker", extra={"subscription": self._filter})
                    async for message in mqtt.messages:
                        self._receive(message)
            except aiomqtt.MqttError as error:
                log.warning("live monitor: broker connection lost", extra={"error": str(error)})
            except Exception:
                log.exception("live monitor: unexpected failure")
            finally:
                if self.live.connected:
                    self.live.set_connected(False)
            if subscribed:
                delay = RETRY_FIRST_S
            await asyncio.sleep(random.uniform(delay / 2, delay))  # noqa: S311 - jitter
            delay = min(2 * delay, RETRY_MAX_S)

    def _client(self) -> aiomqtt.Client:
        return client(
            self._address,
            username=self._login.username,
            password=self._login.password,
            identifier=self._login.client_id,
            max_queued_incoming=MAX_QUEUED_INCOMING,
        )

    async def _subscribe(self, mqtt: aiomqtt.Client) -> None:
        granted = await mqtt.subscribe(self._filter, qos=0)
        if any(_is_refusal(code) for code in granted):
            raise aiomqtt.MqttError(f"subscription to {self._filter} refused: {granted}")

    def _receive(self, message: aiomqtt.Message) -> None:
        if not isinstance(message.payload, bytes | bytearray):
            return
        try:
            self.live.receive(
                message.topic.value, bytes(message.payload), retained=bool(message.retain)
            )
        except Exception:
            # One message the live view cannot take must not cost the subscription.
            topic = message.topic.value[:200]
            log.exception("live monitor: a message could not be shown", extra={"topic": topic})


async def _ticking(live: Live) -> None:
    count = 0
    while True:
        await asyncio.sleep(TICK_S)
        count += 1
        try:
            live.tick(count)
        except Exception:
            log.exception("live monitor: tick failed")


@asynccontextmanager
async def watching(app: FastAPI) -> AsyncIterator[None]:
    """For the app's lifespan: `app.state.live` (and its board as `app.state.device_status`).

    Without a monitor password (outside dev mode), or with a monitor slot the pool lacks, the
    app still runs; the board then reports `online` as null and the live pages say why.
    """
    settings: Settings = app.state.settings
    live = Live(settings, app.state.clock)
    app.state.live = live
    app.state.device_status = live.board
    try:
        settings.require_secrets("broker_monitor_password")
        monitor = Monitor(settings, live)
    except (UnsafeSettingsError, SlotError) as error:
        log.warning("not watching the broker", extra={"error": str(error)})
        yield
        return
    live.watching = True
    tasks = [asyncio.create_task(monitor.run()), asyncio.create_task(_ticking(live))]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
