"""Test databases: a fresh SQLite file and, when reachable, a fresh PostgreSQL database.

PostgreSQL comes from TEST_DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/test; the suite
creates its own database beside it and drops it afterwards. With CI=true it is required.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from core.db import is_sqlite, make_engine

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(postgres_admin_url(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def postgres_required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@contextmanager
def fresh_postgres() -> Iterator[str]:
    admin_url = postgres_admin_url()
    name = f"makerbus_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_sqlite(directory: Path) -> Iterator[str]:
    yield f"sqlite:///{directory / f'makerbus-{uuid.uuid4().hex[:8]}.db'}"


@contextmanager
def commits_fail_after(url: str, table: str, event: str = "INSERT") -> Iterator[None]:
    """Every transaction that does `event` on `table` fails at COMMIT, not before.

    A trigger adds a row that breaks a deferred foreign key, which both databases check only
    when the transaction commits: the statements succeed, the commit is refused.
    """
    insert = "INSERT INTO commit_breaker (ref) VALUES (1)"
    if is_sqlite(url):
        setup = [
            f"CREATE TRIGGER commit_breaker AFTER {event} ON {table} BEGIN {insert}; END",
        ]
        teardown = ["DROP TRIGGER commit_breaker"]
    else:
        setup = [
            "CREATE FUNCTION commit_breaker() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {insert}; RETURN NULL; END $$",
            f"CREATE TRIGGER commit_breaker AFTER {event} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION commit_breaker()",
        ]
        teardown = [f"DROP TRIGGER commit_breaker ON {table}", "DROP FUNCTION commit_breaker()"]
    tables = [
        "CREATE TABLE commit_breaker_target (id INTEGER PRIMARY KEY)",
        "CREATE TABLE commit_breaker (ref INTEGER REFERENCES commit_breaker_target (id) "
        "DEFERRABLE INITIALLY DEFERRED)",
    ]
    drop_tables = ["DROP TABLE commit_breaker", "DROP TABLE commit_breaker_target"]
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in [*tables, *setup]:
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in [*teardown, *drop_tables]:
                connection.exec_driver_sql(statement)
        engine.dispose()
