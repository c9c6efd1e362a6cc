"""Stored answers keyed by (device, request id): a retry gets the same answer and runs once.

Every request looks its id up and stores its answer, so both run as hand-written SQL on the
driver connection (`core.hotpath`): through SQLAlchemy they were over a fifth of a heartbeat's
CPU. A hot op folds the lookup into its own first statement instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import run
from core.hotpath.driver import Driver, Statement
from core.models import ProcessedRequest

_LOOKUP = Statement(
    "SELECT op, request_hash, answer FROM processed_requests"
    " WHERE device_id = %(device)s AND request_id = %(request)s"
)
_STORE = Statement(
    "INSERT INTO processed_requests (device_id, request_id, op, request_hash, answer, created_at)"
    " VALUES (%(device)s, %(request)s, %(op)s, %(hash)s, %(answer)s, %(now)s)"
    " ON CONFLICT DO NOTHING RETURNING 1"
)


@dataclass(frozen=True)
class StoredAnswer:
    op: str
    request_hash: str
    answer: bytes

    def matches(self, op: str, request_hash: str) -> bool:
        return self.op == op and self.request_hash == request_hash


async def lookup(driver: Driver, device_id: int, request_id: str) -> StoredAnswer | None:
    rows = await driver.rows(_LOOKUP, {"device": device_id, "request": request_id})
    if not rows:
        return None
    op, request_hash, answer = rows[0]
    return StoredAnswer(op, request_hash, answer.encode())


async def store(
    driver: Driver,
    *,
    device_id: int,
    request_id: str,
    op: str,
    request_hash: str,
    answer: bytes,
    now: datetime,
) -> bool:
    """Record the answer; False if a twin of the request (same device and id) has one already.

    A twin still in flight on PostgreSQL makes this wait for its commit, then say False.
    """
    params = {
        "device": device_id,
        "request": request_id,
        "op": op,
        "hash": request_hash,
        "answer": answer.decode(),
        "now": driver.time(now),
    }
    return bool(await driver.rows(_STORE, params))


async def prune(db: AsyncSession, *, now: datetime, keep: timedelta) -> int:
    """Forget answers older than `keep`; returns how many were removed."""
    result = await run(db, delete(ProcessedRequest).where(ProcessedRequest.created_at < now - keep))
    return int(getattr(result, "rowcount", 0) or 0)
