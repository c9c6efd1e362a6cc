"""Shared fixtures: settings, migrated databases (SQLite and PostgreSQL), sessions, a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from broker.launcher import free_port
from core.clock import FrozenClock
from core.db import async_session_factory, make_async_engine
from core.migrations import upgrade
from core.settings import Settings
from makerbus.login_provider import LocalLoginProvider
from tests.chromium import CHROMIUM, Chromium, chromium_required
from tests.databases import fresh_postgres, fresh_sqlite, postgres_reachable, postgres_required
from tests.factories import T0
from tests.secrets_for_tests import production_settings


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if postgres_required() and not postgres_reachable():
        raise pytest.UsageError(
            "CI=true needs PostgreSQL (TEST_DATABASE_URL) and it is unreachable"
        )


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of each kind, shared by the tests of a session."""
    if request.param == "postgres":
        if not postgres_reachable():
            pytest.skip("PostgreSQL is not reachable here (CI requires it)")
        context = fresh_postgres()
    else:
        context = fresh_sqlite(tmp_path_factory.mktemp("sqlite"))
    with context as url:
        upgrade(url)
        yield url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return production_settings(database_url=database_url, public_url="https://testserver")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on one connection inside a transaction that is rolled back after the test.

    Code under test may commit: its commits become savepoints of the outer transaction.
    """
    engine = make_async_engine(database_url, pool_size=1)
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        await outer.rollback()
    await engine.dispose()


@pytest.fixture
async def committed_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Real, separately committing connections (no rollback wrapper): for races."""
    engine = make_async_engine(database_url, pool_size=10)
    yield async_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def db(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """Headless Chromium, one for the session (`make test` installs Debian's `chromium`)."""
    if not CHROMIUM.exists():
        if chromium_required():
            pytest.fail(f"CI=true needs Chromium at {CHROMIUM}: apt-get install chromium")
        pytest.skip(f"no Chromium at {CHROMIUM} (make test installs it; CI requires it)")
    browser = Chromium()
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def login_provider() -> Iterator[LocalLoginProvider]:
    """The real OIDC provider process (`oidc-provider-mock`) on loopback."""
    with LocalLoginProvider(free_port()) as provider:
        yield provider
