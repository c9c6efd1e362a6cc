"""End-to-end fixtures: one running stack per database for the session, or one per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack


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
