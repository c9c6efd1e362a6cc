"""Stored answers and last-seen on the driver connection (`core.idempotency` for the rest)."""

from __future__ import annotations

from datetime import datetime

from core.hotpath.driver import Driver, Statement
from core.idempotency import StoredAnswer

_LOOKUP = Statement(
    "SELECT op, request_hash, answer FROM processed_requests"
    " WHERE device_id = %(device)s AND request_id = %(request)s"
)
_STORE = Statement(
    "INSERT INTO processed_requests (device_id, request_id, op, request_hash, answer, created_at)"
    " VALUES (%(device)s, %(request)s, %(op)s, %(hash)s, %(answer)s, %(now)s)"
    " ON CONFLICT DO NOTHING RETURNING 1"
)
_TOUCH = Statement("UPDATE devices SET last_seen_at = %(now)s WHERE id = %(device)s")


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


async def touch(driver: Driver, device_id: int, *, now: datetime) -> None:
    """Record that the device was heard from (`core.devices.touch`)."""
    await driver.run(_TOUCH, {"device": device_id, "now": driver.time(now)})
