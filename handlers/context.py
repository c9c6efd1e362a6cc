"""What an op handler is given besides its request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.devices import DeviceRef
from core.settings import Settings


@dataclass(frozen=True)
class OpContext:
    db: AsyncSession
    device: DeviceRef
    request_id: str
    now: datetime
    settings: Settings
