"""The API's live monitor on a broker of its own, which the test stops and starts again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from api.app import create_app
from api.live.hub import Subscription
from broker.launcher import LocalBroker, free_port, init_local
from core.settings import Settings
from makerbus.context import accounts_from

WAIT_S = 15.0


async def _next_connection_event(viewer: Subscription) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_S):
        while True:
            event = await viewer.next(timeout=WAIT_S)
            if event is not None and event["type"] == "connection":
                return event


async def test_the_monitor_reconnects_after_a_broker_restart_and_tells_the_viewers(
    api_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    settings = api_settings.model_copy(update={"mqtt_port": port})
    init_local(tmp_path, port, accounts_from(settings))
    app = create_app(settings)
    with LocalBroker(tmp_path, port) as broker:
        async with app.router.lifespan_context(app):
            live = app.state.live
            with live.hub.subscribe(None) as viewer:
                if not live.connected:
                    assert (await _next_connection_event(viewer))["connected"] is True
                broker.stop()
                seen = [await _next_connection_event(viewer)]
                watching_while_down = live.board.status_of("any-device").watching
                broker.start()
                seen.append(await _next_connection_event(viewer))

    assert [event["connected"] for event in seen] == [False, True]
    assert watching_while_down is False
