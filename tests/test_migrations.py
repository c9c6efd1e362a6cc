"""Migrations run on both databases, round-trip, and agree with the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from core.db import is_sqlite, make_engine
from core.migrations import downgrade, upgrade
from core.models import Base
from tests.databases import fresh_postgres, fresh_sqlite, postgres_reachable
from tests.factories import T0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        if not postgres_reachable():
            pytest.skip("PostgreSQL is not reachable here (CI requires it)")
        context = fresh_postgres()
    else:
        context = fresh_sqlite(tmp_path)
    with context as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_head_creates_every_model_table(empty_database: str) -> None:
    upgrade(empty_database)

    assert _tables(empty_database) == set(Base.metadata.tables)


def test_downgrade_base_removes_everything_and_upgrade_works_again(empty_database: str) -> None:
    upgrade(empty_database)

    downgrade(empty_database, "base")
    assert _tables(empty_database) == set()

    upgrade(empty_database)
    assert _tables(empty_database) == set(Base.metadata.tables)


def test_models_and_migrations_agree(empty_database: str) -> None:
    upgrade(empty_database)
    engine = make_engine(empty_database)

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "render_as_batch": is_sqlite(empty_database)},
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()

    assert differences == []


def test_the_database_refuses_a_balance_below_the_credit_limit(empty_database: str) -> None:
    upgrade(empty_database)
    engine = make_engine(empty_database)
    members = Base.metadata.tables["members"]

    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            members.insert().values(
                name="x", balance_cents=-101, credit_limit_cents=100, created_at=T0
            )
        )
    engine.dispose()
