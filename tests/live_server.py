"""The app served over HTTP on loopback by the test's own event loop, for a real browser."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from broker.launcher import free_port
from core.settings import Settings


@dataclass(frozen=True)
class LiveApp:
    """The app served over HTTP on loopback, for a real browser."""

    url: str
    app: FastAPI


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[LiveApp]:
    """The app of `settings` on a free loopback port (its `public_url` set to match)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"public_url": url}))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    while not server.started:
        if running.done():
            running.result()  # raises why it stopped
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    try:
        yield LiveApp(url, app)
    finally:
        server.should_exit = True
        await running
