"""The handler service's connection loop on a real mosquitto: a refused login is retried with
backoff, and `stop()` ends the loop whatever state the link is in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.launcher import LocalBroker, free_port, init_local
from core.clock import FrozenClock
from core.settings import Settings
from handlers.service import HandlerService
from makerbus.context import accounts_from

pytestmark = pytest.mark.mqtt


class Warnings(logging.Handler):
    """The service's warnings as they are logged, for a test to wait on."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self._more = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._more.set()

    async def wait_for(self, count: int) -> None:
        while len(self.records) < count:
            self._more.clear()
            await self._more.wait()


@pytest.fixture
def logged() -> Iterator[Warnings]:
    seen = Warnings()
    logger = logging.getLogger("makerbus.handlers")
    logger.addHandler(seen)
    yield seen
    logger.removeHandler(seen)


@pytest.fixture
def broker_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The test settings on a mosquitto of the test's own, which knows their accounts."""
    on_port = settings.model_copy(update={"mqtt_port": free_port()})
    init_local(tmp_path, on_port.mqtt_port, accounts_from(on_port))
    with LocalBroker(tmp_path, on_port.mqtt_port):
        yield on_port


async def test_a_refused_login_is_retried_until_the_service_is_stopped(
    broker_settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    logged: Warnings,
) -> None:
    wrong = broker_settings.model_copy(update={"broker_handler_password": "wrong-" + "x" * 24})
    service = HandlerService(wrong, sessions, clock)
    running = asyncio.create_task(service.run())

    await logged.wait_for(2)
    service.stop()
    await running

    assert [record.getMessage() for record in logged.records[:2]] == [
        "broker connection lost, retrying"
    ] * 2
    assert "refused the login of makerbus-handlers-1" in logged.records[0].__dict__["error"]
