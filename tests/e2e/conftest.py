"""End-to-end fixtures: one running stack per database for the session, or one per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.migrations import upgrade
from makerbus.login_provider import LocalLoginProvider
from tests.databases import postgres_required
from tests.e2e.private_postgres import PrivatePostgres, postgres_bin, private_postgres
from tests.e2e.stack import Stack
from tests.live_server import LiveApp, serving
from tests.secrets_for_tests import TEST_SECRETS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.mqtt)


@pytest.fixture(scope="session")
def stack(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack.create(database_url, tmp_path_factory.mktemp("stack"))
    yield running
    running.stop()


@pytest.fixture
def own_stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    """A stack of its own, for tests that kill the broker or the handlers."""
    running = Stack.create(database_url, tmp_path)
    yield running
    running.stop()


@pytest.fixture
def two_worker_stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    """Two handler processes sharing the subscription."""
    running = Stack.create(database_url, tmp_path, workers=2)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[PrivatePostgres]:
    """A migrated PostgreSQL of the tests' own, which they may stop and start (unlike the shared
    one on 5432). Each test that stops it starts it again; the stack below checks."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        missing = "no PostgreSQL server binaries (initdb, pg_ctl) here"
        if postgres_required():  # CI must run the outage tests, never skip them
            pytest.fail(missing)
        pytest.skip(missing)
    with private_postgres(bin_dir) as server:
        upgrade(server.url)
        yield server


@pytest.fixture(scope="session")
def _stack_on_own_postgres(
    own_postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    running = Stack.create(own_postgres.url, tmp_path_factory.mktemp("stack-own-postgres"))
    yield running
    running.stop()


@pytest.fixture
def stack_on_own_postgres(_stack_on_own_postgres: Stack, own_postgres: PrivatePostgres) -> Stack:
    """A stack whose database the test may take away: ``own_postgres.stop()`` / ``start()``."""
    if not own_postgres.running():  # a test before this one failed during its outage
        own_postgres.start()
    return _stack_on_own_postgres


@pytest.fixture
async def stack_app(stack: Stack, login_provider: LocalLoginProvider) -> AsyncIterator[LiveApp]:
    """The web app on the session's stack (its database and broker, its handler service
    answering devices), logging in at the real provider: for journeys through pages and
    devices at once."""
    settings = stack.settings.model_copy(
        update={
            "session_secret": TEST_SECRETS["session_secret"],
            "oidc_client_secret": TEST_SECRETS["oidc_client_secret"],
            "oidc_discovery_url": login_provider.discovery_url,
        }
    )
    async with serving(settings) as live:
        yield live
