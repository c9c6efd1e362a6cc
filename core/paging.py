"""Keyset paging, newest first: the one way lists that grow without bound are read.

A page is asked for by `limit` and `before_id` (only rows whose id is below it), and ordered
by the id descending, so that it stays stable while new rows arrive. One row more than the
page is fetched: it says whether an older page exists without counting the table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, TypeVarTuple

from sqlalchemy import Row, Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.db import run

PAGE_MAX = 200
PAGE_DEFAULT = 50

T = TypeVar("T")
U = TypeVar("U")
Columns = TypeVarTuple("Columns")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Up to `limit` rows, newest first; `next_before_id` asks for older ones (None: no more)."""

    items: list[T]
    next_before_id: int | None

    def map(self, make: Callable[[T], U]) -> Page[U]:
        return Page([make(item) for item in self.items], self.next_before_id)


class HasId(Protocol):
    @property
    def id(self) -> int: ...


def by_id(row: HasId) -> int:
    """The usual paging key: the row's `id`."""
    return row.id


def newest_first(
    statement: Select[*Columns],
    key: InstrumentedAttribute[int],
    *,
    before_id: int | None,
    limit: int,
) -> Select[*Columns]:
    """`statement` keyset-paged on `key`: at most `limit` rows, newest first, only keys below
    `before_id` (all when None)."""
    if before_id is not None:
        statement = statement.where(key < before_id)
    return statement.order_by(key.desc()).limit(limit)


def check_limit(limit: int) -> None:
    """A page is 1 to PAGE_MAX rows; ValueError otherwise."""
    if not 1 <= limit <= PAGE_MAX:
        raise ValueError(f"limit must be 1-{PAGE_MAX}")


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], int]) -> Page[T]:
    """The page of rows fetched with `limit + 1`: the first `limit`, and, only when the extra
    row came, the key of the last one as `next_before_id` (so it is None on the last page)."""
    if len(rows) <= limit:
        return Page(list(rows), None)
    return Page(list(rows[:limit]), key(rows[limit - 1]))


async def fetch_page(
    fetch: Callable[[int], Awaitable[Sequence[T]]], limit: int, key: Callable[[T], int]
) -> Page[T]:
    """A page from a query function that returns at most `n` rows newest first: it is asked
    for `limit + 1`, so that `next_before_id` is None on the last page."""
    check_limit(limit)
    return page_of(await fetch(limit + 1), limit, key)


async def select_page(
    db: AsyncSession,
    statement: Select[*Columns],
    key: InstrumentedAttribute[int],
    *,
    before_id: int | None,
    limit: int,
) -> Page[Row[Any]]:
    """A page of `statement`'s rows, keyset-paged on `key`, which it selects under its own
    name (`LedgerEntry.id` as `id`)."""
    check_limit(limit)
    query = newest_first(statement, key, before_id=before_id, limit=limit + 1)
    rows = (await run(db, query)).all()
    return page_of(rows, limit, lambda row: int(row._mapping[key.key]))
