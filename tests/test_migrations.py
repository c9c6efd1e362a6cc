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


def test_upgrading_a_database_that_holds_rentals_keeps_them(empty_database: str) -> None:
    """An installation upgrades with its data: SQLite must not rebuild a referenced table."""
    upgrade(empty_database, "0004")
    engine = make_engine(empty_database)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO members (id, name, balance_cents, credit_limit_cents, pin_failures, "
            "created_at) VALUES (1, 'Ada', 0, 0, 0, '2026-01-01 00:00:00+00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO rental_items (id, tid, name, active, created_at) "
            "VALUES (1, 'E2801160600002', 'Drill', true, '2026-01-01 00:00:00+00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO rentals (id, item_id, member_id, rented_at) "
            "VALUES (1, 1, 1, '2026-01-01 00:00:00+00:00')"
        )
    engine.dispose()

    upgrade(empty_database)

    engine = make_engine(empty_database)
    with engine.connect() as connection:
        kept = connection.exec_driver_sql(
            "SELECT rentals.id, rental_items.name FROM rentals "
            "JOIN rental_items ON rental_items.id = rentals.item_id"
        ).all()
    engine.dispose()
    assert [tuple(row) for row in kept] == [(1, "Drill")]
