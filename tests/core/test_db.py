"""The handler's PostgreSQL pool: idle connections are pinged before use, busy ones are not."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from core import db
from core.db import is_sqlite, make_async_engine
from tests.databases import postgres_admin_url


async def _pooled_backend(url: str) -> tuple[AsyncEngine, int]:
    """An engine with one pooled connection, and that connection's server process id."""
    engine = make_async_engine(url, pool_size=1)
    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return engine, pid


def _terminate(pid: int) -> None:
    with psycopg.connect(postgres_admin_url(), autocommit=True) as admin:
        # With a timeout it returns once the process has gone (PostgreSQL 14+).
        admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if is_sqlite(database_url):
        pytest.skip("a PostgreSQL pool")
    return database_url


async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
    engine, pid = await _pooled_backend(postgres_url)
    _terminate(pid)

    async with engine.connect() as connection:
        answer = await connection.scalar(text("SELECT 1"))

    assert answer == 1
    await engine.dispose()


async def test_a_connection_dropped_while_busy_fails_once_then_the_pool_is_fresh(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    engine, pid = await _pooled_backend(postgres_url)
    _terminate(pid)

    with pytest.raises(OperationalError):
        async with engine.connect() as connection:
            await connection.scalar(text("SELECT 1"))
    async with engine.connect() as connection:
        answer = await connection.scalar(text("SELECT 1"))

    assert answer == 1
    await engine.dispose()
