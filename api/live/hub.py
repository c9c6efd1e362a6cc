"""Fan-out of live events to the viewers, each with a bounded queue.

A viewer that reads too slowly is never allowed to hold more than its queue: when the queue is
full it is emptied and the viewer's next event is `{"type": "reset"}`, on which the browser
loads the snapshot again and carries on.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

RESET: dict[str, Any] = {"type": "reset"}


class TooManyViewers(Exception):
    """Every viewer slot is taken."""


def event_device(event: dict[str, Any]) -> str | None:
    """The device an event is about (a row's, or the event's own); None for general ones."""
    row = event.get("row")
    device = row.get("device") if isinstance(row, dict) else event.get("device")
    return device if isinstance(device, str) else None


class Subscription:
    """One viewer's queue of events; only its devices' events when it has a device set."""

    def __init__(self, hub: Hub, devices: frozenset[str] | None, queue_size: int) -> None:
        self.devices = devices
        self._hub = hub
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=max(1, queue_size))
        self._closed = False

    def wants(self, event: dict[str, Any]) -> bool:
        device = event_device(event)
        return self.devices is None or device is None or device in self.devices

    def offer(self, event: dict[str, Any]) -> None:
        """Queues the event, or starts over with a reset when the queue is full."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(dict(RESET))

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    @property
    def closed(self) -> bool:
        return self._closed

    async def next(self, timeout: float) -> dict[str, Any] | None:  # noqa: ASYNC109
        """The next event, or None when none came within `timeout` s (or it is closed)."""
        if self._closed:
            return None
        if not self._queue.empty():  # no waiting, and no task for wait_for to make
            return self._queue.get_nowait()
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def ready(self, limit: int) -> list[dict[str, Any]]:
        """The events already waiting, `limit` at most, without waiting: a busy viewer gets
        them written in one go."""
        taken: list[dict[str, Any]] = []
        while len(taken) < limit and not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken

    def close(self) -> None:
        self._closed = True
        self._hub.drop(self)
        while not self._queue.empty():
            self._queue.get_nowait()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Hub:
    """Publishes each event to every subscription that wants it, without ever waiting."""

    def __init__(self, *, queue_size: int = 1024, max_viewers: int = 100) -> None:
        self._queue_size = queue_size
        self._max_viewers = max_viewers
        self._subscriptions: list[Subscription] = []

    @property
    def viewers(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, devices: frozenset[str] | None) -> Subscription:
        """A new viewer, of all devices (None) or only of `devices`."""
        if len(self._subscriptions) >= self._max_viewers:
            raise TooManyViewers(f"{self._max_viewers} viewers are connected already")
        subscription = Subscription(self, devices, self._queue_size)
        self._subscriptions.append(subscription)
        return subscription

    def drop(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def publish(self, event: dict[str, Any]) -> None:
        for subscription in self._subscriptions:
            if subscription.wants(event):
                subscription.offer(event)
