"""Stored answers keyed by (device, request id): a retry gets the same answer and runs once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import run
from core.models import ProcessedRequest


@dataclass(frozen=True)
class StoredAnswer:
    op: str
    request_hash: str
    answer: bytes

    def matches(self, op: str, request_hash: str) -> bool:
        return self.op == op and self.request_hash == request_hash


async def lookup(db: AsyncSession, device_id: int, request_id: str) -> StoredAnswer | None:
    row = (
        await run(
            db,
            select(ProcessedRequest.op, ProcessedRequest.request_hash, ProcessedRequest.answer)
            .where(ProcessedRequest.device_id == device_id)
            .where(ProcessedRequest.request_id == request_id),
        )
    ).one_or_none()
    if row is None:
        return None
    return StoredAnswer(row.op, row.request_hash, row.answer.encode())


async def store(
    db: AsyncSession,
    *,
    device_id: int,
    request_id: str,
    op: str,
    request_hash: str,
    answer: bytes,
    now: datetime,
) -> None:
    """Record the answer; a concurrent twin makes the commit fail on the primary key."""
    await run(
        db,
        insert(ProcessedRequest).values(
            device_id=device_id,
            request_id=request_id,
            op=op,
            request_hash=request_hash,
            answer=answer.decode(),
            created_at=now,
        ),
    )


async def prune(db: AsyncSession, *, now: datetime, keep: timedelta) -> int:
    """Forget answers older than `keep`; returns how many were removed."""
    result = await run(db, delete(ProcessedRequest).where(ProcessedRequest.created_at < now - keep))
    return int(getattr(result, "rowcount", 0) or 0)
