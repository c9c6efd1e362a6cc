"""The async pools: PostgreSQL replaces a connection the server dropped before it is used;
aiosqlite rolls back only open transactions when a connection comes back."""

from __future__ import annotations

import aiosqlite
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import make_async_engine
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


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_connection_the_server_dropped_is_replaced_before_use(database_url: str) -> None:
    engine, pid = await _pooled_backend(database_url)
    _terminate(pid)

    async with engine.connect() as connection:
        answer = await connection.scalar(text("SELECT 1"))

    assert answer == 1
    await engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_aiosqlite_connection_given_back_inside_a_transaction_is_rolled_back(
    database_url: str,
) -> None:
    engine = make_async_engine(database_url)
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
