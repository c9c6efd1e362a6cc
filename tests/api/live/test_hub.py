"""Fan-out to viewers: filtered by device, bounded per viewer, a reset for the slow ones."""

from __future__ import annotations

from typing import Any

import pytest

from api.live.hub import Hub, TooManyViewers


def row(seq: int, device: str) -> dict[str, Any]:
    return {"type": "row", "row": {"seq": seq, "device": device}}


async def test_a_viewer_gets_the_events_in_order() -> None:
    hub = Hub()
    with hub.subscribe(None) as viewer:
        hub.publish(row(1, "lathe"))
        hub.publish({"type": "result", "seq": 1, "device": "lathe", "result": "ok"})

        received = [await viewer.next(timeout=1), await viewer.next(timeout=1)]

    assert received == [
        row(1, "lathe"),
        {"type": "result", "seq": 1, "device": "lathe", "result": "ok"},
    ]


async def test_a_filtered_viewer_sees_only_its_devices_and_general_events() -> None:
    hub = Hub()
    with hub.subscribe(frozenset({"drill"})) as viewer:
        hub.publish(row(1, "lathe"))
        hub.publish({"type": "result", "seq": 1, "device": "lathe", "result": "ok"})
        hub.publish(row(2, "drill"))
        hub.publish({"type": "connection", "connected": False})

        received = [await viewer.next(timeout=1), await viewer.next(timeout=1)]
        rest = await viewer.next(timeout=0.01)

    assert received == [row(2, "drill"), {"type": "connection", "connected": False}]
    assert rest is None


async def test_a_viewer_that_never_reads_stays_bounded_and_gets_a_reset() -> None:
    hub = Hub(queue_size=256)
    with hub.subscribe(None) as slow, hub.subscribe(None) as fast:
        for seq in range(10_000):
            hub.publish(row(seq, "lathe"))
            assert await fast.next(timeout=1) == row(seq, "lathe")

        held = slow.pending
        first = await slow.next(timeout=1)
        hub.publish(row(10_000, "lathe"))
        events = [await slow.next(timeout=1) for _ in range(slow.pending)]

    assert held <= 256
    assert first == {"type": "reset"}
    assert events[-1] == row(10_000, "lathe")


async def test_next_returns_none_when_nothing_comes() -> None:
    hub = Hub()
    with hub.subscribe(None) as viewer:
        assert await viewer.next(timeout=0.01) is None


def test_viewers_beyond_the_limit_are_refused() -> None:
    hub = Hub(max_viewers=2)
    hub.subscribe(None)
    hub.subscribe(None)

    with pytest.raises(TooManyViewers):
        hub.subscribe(None)


def test_a_closed_viewer_leaves_and_gets_nothing() -> None:
    hub = Hub(max_viewers=1)
    with hub.subscribe(None) as viewer:
        assert hub.viewers == 1

    hub.publish(row(1, "lathe"))

    assert (hub.viewers, viewer.pending, viewer.closed) == (0, 0, True)
    hub.subscribe(None)


async def test_the_events_waiting_are_taken_at_once_up_to_a_limit() -> None:
    hub = Hub()
    with hub.subscribe(None) as viewer:
        for seq in range(1, 6):
            hub.publish(row(seq, "lathe"))

        first = await viewer.next(timeout=1)
        batch = viewer.ready(3)
        rest = viewer.ready(10)
        none_left = viewer.ready(10)

    assert first == row(1, "lathe")
    assert batch == [row(2, "lathe"), row(3, "lathe"), row(4, "lathe")]
    assert (rest, none_left) == ([row(5, "lathe")], [])
