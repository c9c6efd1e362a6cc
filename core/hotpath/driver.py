"""The session's driver connection, PostgreSQL (psycopg) or SQLite (aiosqlite), behind one call.

A `Statement` is written once with psycopg's `%(name)s` placeholders and derives SQLite's
`:name` form. Times go in and come out as the ORM's `UTCDateTime` stores them: timestamptz on
PostgreSQL, `YYYY-MM-DD HH:MM:SS.ffffff` UTC text on SQLite.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import psycopg
from sqlalchemy.ext.asyncio import AsyncSession

Row = tuple[Any, ...]
# What SQLAlchemy reports as OperationalError/InterfaceError: the runtime's "unavailable".
UNAVAILABLE = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class Statement:
    """`lock` is a row-locking clause (`FOR UPDATE OF s`): PostgreSQL only, as SQLite's writers
    hold the whole database (`BEGIN IMMEDIATE`)."""

    def __init__(self, sql: str, *, lock: str = "") -> None:
        self.postgres = f"{sql} {lock}" if lock else sql
        self.sqlite = _PLACEHOLDER.sub(r":\1", sql)


class Driver:
    """Runs statements on one dialect's driver connection, in the session's transaction."""

    async def rows(self, statement: Statement, params: Mapping[str, object]) -> list[Row]:
        """The rows a query (or a statement's RETURNING) yields."""
        raise NotImplementedError

    async def run(self, statement: Statement, params: Mapping[str, object]) -> None:
        """A statement that returns no rows."""
        raise NotImplementedError

    def time(self, moment: datetime) -> object:
        """`moment` as a parameter for a `UTCDateTime` column."""
        raise NotImplementedError

    def read_time(self, value: Any) -> datetime:
        """A `UTCDateTime` column's value as an aware UTC datetime."""
        raise NotImplementedError

    def read_optional_time(self, value: Any) -> datetime | None:
        return None if value is None else self.read_time(value)


class Postgres(Driver):
    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._connection = connection

    async def rows(self, statement: Statement, params: Mapping[str, object]) -> list[Row]:
        cursor = await self._connection.execute(statement.postgres, params)
        return await cursor.fetchall()

    async def run(self, statement: Statement, params: Mapping[str, object]) -> None:
        await self._connection.execute(statement.postgres, params)

    def time(self, moment: datetime) -> object:
        return moment

    def read_time(self, value: Any) -> datetime:
        moment: datetime = value.astimezone(UTC)
        return moment


class Sqlite(Driver):
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def rows(self, statement: Statement, params: Mapping[str, object]) -> list[Row]:
        # One hop to aiosqlite's thread per statement: execute and fetch together.
        found = await self._connection.execute_fetchall(statement.sqlite, params)
        return [tuple(row) for row in found]

    async def run(self, statement: Statement, params: Mapping[str, object]) -> None:
        await self._connection.execute_fetchall(statement.sqlite, params)

    def time(self, moment: datetime) -> object:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def read_time(self, value: Any) -> datetime:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


async def driver(db: AsyncSession) -> Driver:
    """The driver connection under `db`'s transaction (begun here if it was not yet)."""
    connection = await db.connection()
    native = (await connection.get_raw_connection()).driver_connection
    if isinstance(native, psycopg.AsyncConnection):
        return Postgres(native)
    if isinstance(native, aiosqlite.Connection):
        return Sqlite(native)
    raise TypeError(f"no hot path for {type(native).__name__}")
