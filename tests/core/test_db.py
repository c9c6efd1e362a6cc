"""The async pools: PostgreSQL pings idle connections only; aiosqlite rolls back only open
transactions when a connection comes back."""

from __future__ import annotations

import aiosqlite
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


@pytest.fixture
def sqlite_url(database_url: str) -> str:
    if not is_sqlite(database_url):
        pytest.skip("an aiosqlite pool")
    return database_url


async def test_an_aiosqlite_connection_given_back_inside_a_transaction_is_rolled_back(
    sqlite_url: str,
) -> None:
    engine = make_async_engine(sqlite_url)
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert isinstance(driver, aiosqlite.Connection)
        await driver.execute_fetchall("BEGIN IMMEDIATE")
        await driver.execute_fetchall("CREATE TABLE given_back (x INTEGER)")

    async with engine.begin() as connection:
        left = await connection.scalar(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'given_back'")
        )

    assert left == 0
    await engine.dispose()
