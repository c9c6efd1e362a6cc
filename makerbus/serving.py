"""The handler service in this process, until a signal: `makerbus handlers` runs it alone,
`makerbus dev` beside its other children."""

from __future__ import annotations

import asyncio
import signal

from core.clock import SystemClock
from core.db import async_session_factory, make_async_engine
from core.settings import Settings
from handlers.service import HandlerService


async def serve_handlers(settings: Settings) -> None:
    """Run the handler service until SIGTERM or SIGINT, then drain and stop."""
    settings.require_secrets("broker_handler_password")
    engine = make_async_engine(settings.database_url)
    service = HandlerService(settings, async_session_factory(engine), SystemClock())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.stop)
    try:
        await service.run()
    finally:
        await engine.dispose()
