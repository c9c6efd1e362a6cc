"""Which devices are online, from the retained status each device keeps on its status topic.

A device publishes `{"online": true, "fw": "…"}` retained on `<prefix>/<slug>/status` when it
connects and leaves `{"online": false}` there as its last will. The API process's monitor
(`api.live.monitor`) feeds every status message into a `StatusBoard`, which the routes read.
While the monitor is not connected the board claims nothing: `online` is null, not false.

mosquitto 2.0 publishes no will when it drops a client by administrative action (a password
change, disabling or removal: checked on 2.0.11), and the server's accounts may not publish on
a device's status topic. So the routes that drop a device tell the board (`went_offline`); an
API process that did not do it, or this one after reconnecting, sees the stale retained
`online: true` until the device publishes again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from core.devices import DeviceStatus

# A status is a few dozen bytes; anything much larger is junk and is not even parsed.
MAX_STATUS_BYTES = 512
MAX_FW_LENGTH = 64
# Devices can only publish on their own status topic, so this bounds memory only against
# leftovers of removed devices; it is far above any makerspace's device count.
MAX_DEVICES = 10_000


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
    """The latest status per device slug, as received by the monitor (in memory only).

    `on_change(slug)` is called whenever what the board says of a device changes (the live
    view pushes it to the browsers).
    """

    def __init__(self, on_change: Callable[[str], None] | None = None) -> None:
        self.connected = False
        self._on_change = on_change
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
            self._set(slug, None)
            return
        reported = parse_status(payload)
        if reported is None or not _has_room(self._reported, slug):
            return
        if reported.online and not retained and _has_room(self._heard, slug):
            self._heard[slug] = now
        self._set(slug, reported)

    def went_offline(self, slug: str) -> None:
        """The broker dropped the device by administrative action, which sends no will."""
        previous = self._reported.get(slug)
        self._set(slug, Reported(online=False, fw=previous.fw if previous else None))

    def forget(self, slug: str) -> None:
        """A removed or newly provisioned device: what was known belongs to an earlier one."""
        self._heard.pop(slug, None)
        self._set(slug, None)

    def _set(self, slug: str, reported: Reported | None) -> None:
        before = self._reported.get(slug)
        if reported is None:
            self._reported.pop(slug, None)
        else:
            self._reported[slug] = reported
        if reported != before and self._on_change is not None:
            self._on_change(slug)

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


def get_status_board(request: Request) -> StatusBoard:
    """The app's board; an empty, unconnected one when the lifespan has not run."""
    board = getattr(request.app.state, "device_status", None)
    return board if isinstance(board, StatusBoard) else StatusBoard()


StatusBoardDep = Annotated[StatusBoard, Depends(get_status_board)]
