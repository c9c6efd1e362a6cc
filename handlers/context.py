"""What an op handler is given besides its request, and what it may answer besides a model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from broker.errors import ErrorCode
from core.devices import DeviceRef
from core.hotpath.driver import Driver
from core.idempotency import StoredAnswer
from core.origin import Origin
from core.settings import Settings


@dataclass(frozen=True)
class OpContext:
    db: AsyncSession
    device: DeviceRef
    request_id: str
    now: datetime
    settings: Settings

    @property
    def heartbeat_period(self) -> timedelta:
        return timedelta(seconds=self.settings.heartbeat_period_s)

    @property
    def origin(self) -> Origin:
        """This request as the origin of the entries it books."""
        return Origin(
            now=self.now,
            device_id=self.device.id,
            device_slug=self.device.slug,
            request_id=self.request_id,
        )


@dataclass(frozen=True)
class Decline:
    """An error answer whose changes are kept (raising a domain error rolls them back).

    For rules that say no after recording something, like a heartbeat that cannot pay the next
    interval but still counts as proof of life.
    """

    code: ErrorCode
    message: str
    fields: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class HotContext(OpContext):
    """An op's context on the hot path (`core.hotpath`): also the session's driver connection."""

    driver: Driver


OpHandler = Callable[[Any, OpContext], Awaitable[BaseModel | Decline]]
# A hot op folds the stored-answer lookup into its first statement: it may find the answer.
HotHandler = Callable[[Any, HotContext], Awaitable[BaseModel | Decline | StoredAnswer]]
