"""The `makerbus` command run in-process on the test database, in production mode."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Protocol, TypeVar

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import get_settings
from makerbus.cli import cli
from makerbus.context import database
from tests.secrets_for_tests import TEST_SECRETS, production_settings

T = TypeVar("T")


class Makerbus(Protocol):
    def __call__(self, *args: str, input: str | None = None) -> Result: ...


class InDatabase(Protocol):
    def __call__(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T: ...


@pytest.fixture
def makerbus(database_url: str) -> Iterator[Makerbus]:
    """`makerbus ARGS...` as the operator types it; the settings come from the environment."""
    env = {
        "MAKERBUS_ENV": "production",
        "MAKERBUS_DATABASE_URL": database_url,
        **{f"MAKERBUS_{name.upper()}": value for name, value in TEST_SECRETS.items()},
    }
    runner = CliRunner(env=env)

    def invoke(*args: str, input: str | None = None) -> Result:
        get_settings.cache_clear()
        return runner.invoke(
            cli, list(args), input=input, catch_exceptions=False, prog_name="makerbus"
        )

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def in_database(database_url: str) -> InDatabase:
    """Run `work` in one committed transaction of the test database (to arrange or to check)."""
    settings = production_settings(database_url=database_url)

    def go(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def run() -> T:
            async with database(settings) as db:
                return await work(db)

        return asyncio.run(run())

    return go
