"""The API over ASGI in-process (httpx), on the real test databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from broker.launcher import LocalBroker, free_port, init_local
from core.db import async_session_factory, make_async_engine
from core.settings import Environment, Settings
from makerbus.context import accounts_from


@pytest.fixture(scope="session")
def broker_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real mosquitto for /health to reach."""
    directory: Path = tmp_path_factory.mktemp("api-broker")
    port = free_port()
    settings = Settings(env=Environment.DEV, mqtt_port=port, _env_file=None)
    init_local(directory, port, accounts_from(settings))
    with LocalBroker(directory, port):
        yield port


@pytest.fixture
def app(settings: Settings, broker_port: int) -> FastAPI:
    return create_app(settings.model_copy(update={"mqtt_port": broker_port}))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await app.state.engine.dispose()


@pytest.fixture
async def committed_db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session whose commits are real: the app under test reads through its own engine."""
    engine = make_async_engine(settings.database_url, pool_size=1)
    async with async_session_factory(engine)() as db:
        yield db
    await engine.dispose()
