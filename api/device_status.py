"""Which devices are online, from the retained status each device keeps on its status topic.

A device publishes `{"online": true, "fw": "…"}` retained on `<prefix>/<slug>/status` when it
connects and leaves `{"online": false}` there as its last will. For the app's lifetime a
`StatusWatcher` subscribes to every status topic with the read-only monitor account of this
process's slot (MAKERBUS_MONITOR_SLOT; each API process needs its own, see broker.identities)
and keeps the latest status per device in a `StatusBoard`, which the routes read. While the
watcher is not connected the board claims nothing: `online` is null, not false.

mosquitto 2.0 publishes no will when it drops a client by administrative action (a password
change, disabling or removal: checked on 2.0.11), and the server's accounts may not publish on
a device's status topic. So the routes that drop a device tell the board (`went_offline`); an
API process that did not do it, or this one after reconnecting, sees the stale retained
`online: true` until the device publishes again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import aiomqtt
from fastapi import Depends, FastAPI, Request
from paho.mqtt.reasoncodes import ReasonCode

from broker.identities import SlotError, monitor_login
from broker.mqtt import BrokerAddress, client
from core.clock import Clock
from core.devices import DeviceStatus
from core.formats import SLUG_PATTERN
from core.settings import Settings, UnsafeSettingsError

log = logging.getLogger("makerbus.api.device_status")

# A status is a few dozen bytes; anything much larger is junk and is not even parsed.
MAX_STATUS_BYTES = 512
MAX_FW_LENGTH = 64
# Devices can only publish on their own status topic, so this bounds memory only against
# leftovers of removed devices; it is far above any makerspace's device count.
MAX_DEVICES = 10_000
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
_SLUG = re.compile(SLUG_PATTERN)


@dataclass(frozen=True)
class Reported:
    """What a device last said about itself on its status topic."""

    online: bool
    fw: str | None


def parse_status(payload: bytes) -> Reported | None:
    """The status a payload reports; None for anything else, which is then ignored.

    `online` must be a JSON boolean. A `fw` that is not a short printable string is dropped
    without discarding the status.
    """
    if len(payload) > MAX_STATUS_BYTES:
        return None
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("online"), bool):
        return None
    fw = data.get("fw")
    if not (isinstance(fw, str) and 0 < len(fw) <= MAX_FW_LENGTH and fw.isprintable()):
        fw = None
    return Reported(online=data["online"], fw=fw)


class StatusBoard:
    """The latest status per device slug, as received by the watcher (in memory only)."""

    def __init__(self) -> None:
        self.connected = False
        self._reported: dict[str, Reported] = {}
        # When this process last received a live (not retained) `online: true`; kept across
        # reconnects, since it stays true.
        self._heard: dict[str, datetime] = {}

    def start_over(self) -> None:
        """A new subscription: the broker sends every retained status again."""
        self._reported.clear()

    def record(self, slug: str, payload: bytes, *, retained: bool, now: datetime) -> None:
        """Take a message from `slug`'s status topic; junk changes nothing.

        A retained message was stored earlier, maybe long ago, so only a live one counts as
        hearing from the device.
        """
        if not payload:
            # An empty retained message deletes the stored status.
            self._reported.pop(slug, None)
            return
        reported = parse_status(payload)
        if reported is None or not _has_room(self._reported, slug):
            return
        self._reported[slug] = reported
        if reported.online and not retained and _has_room(self._heard, slug):
            self._heard[slug] = now

    def went_offline(self, slug: str) -> None:
        """The broker dropped the device by administrative action, which sends no will."""
        previous = self._reported.get(slug)
        self._reported[slug] = Reported(online=False, fw=previous.fw if previous else None)

    def forget(self, slug: str) -> None:
        """A removed or newly provisioned device: what was known belongs to an earlier one."""
        self._reported.pop(slug, None)
        self._heard.pop(slug, None)

    def status_of(self, slug: str) -> DeviceStatus:
        reported = self._reported.get(slug) if self.connected else None
        return DeviceStatus(
            watching=self.connected,
            online=reported.online if reported else None,
            fw=reported.fw if reported else None,
            heard_at=self._heard.get(slug),
        )


def _has_room(table: Mapping[str, object], slug: str) -> bool:
    return slug in table or len(table) < MAX_DEVICES


def _is_refusal(code: int | ReasonCode) -> bool:
    return (code.value if isinstance(code, ReasonCode) else code) >= 0x80


class StatusWatcher:
    """Feeds a board from `<prefix>/+/status`; reconnects with backoff until cancelled."""

    def __init__(self, settings: Settings, clock: Clock, board: StatusBoard) -> None:
        self.board = board
        self._settings = settings
        self._clock = clock
        self._head = f"{settings.topic_prefix}/"
        self._filter = f"{settings.topic_prefix}/+/status"
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
                    self.board.start_over()
                    self.board.connected = True
                    log.info("watching device status", extra={"subscription": self._filter})
                    async for message in mqtt.messages:
                        self._receive(message)
            except aiomqtt.MqttError as error:
                log.warning("device status: broker connection lost", extra={"error": str(error)})
            except Exception:
                log.exception("device status: unexpected failure")
            finally:
                self.board.connected = False
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
        )

    async def _subscribe(self, mqtt: aiomqtt.Client) -> None:
        granted = await mqtt.subscribe(self._filter, qos=1)
        if any(_is_refusal(code) for code in granted):
            raise aiomqtt.MqttError(f"subscription to {self._filter} refused: {granted}")

    def _receive(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        slug = topic[len(self._head) : -len("/status")]
        if not (topic.startswith(self._head) and topic.endswith("/status") and _SLUG.match(slug)):
            return
        if not isinstance(message.payload, bytes | bytearray):
            return
        self.board.record(
            slug, bytes(message.payload), retained=bool(message.retain), now=self._clock.now()
        )


@asynccontextmanager
async def watching(app: FastAPI) -> AsyncIterator[None]:
    """For the app's lifespan: watch device status (`app.state.device_status`) until it ends.

    Without a monitor password (outside dev mode), or with a monitor slot the pool lacks, the
    app still runs and reports `online` as null.
    """
    settings: Settings = app.state.settings
    board = StatusBoard()
    app.state.device_status = board
    try:
        settings.require_secrets("broker_monitor_password")
        watcher = StatusWatcher(settings, app.state.clock, board)
    except (UnsafeSettingsError, SlotError) as error:
        log.warning("not watching device status", extra={"error": str(error)})
        yield
        return
    task = asyncio.create_task(watcher.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def get_status_board(request: Request) -> StatusBoard:
    """The app's board; an empty, unconnected one when the lifespan has not run."""
    board = getattr(request.app.state, "device_status", None)
    return board if isinstance(board, StatusBoard) else StatusBoard()


StatusBoardDep = Annotated[StatusBoard, Depends(get_status_board)]
