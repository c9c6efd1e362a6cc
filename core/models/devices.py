"""Devices (one broker account each) and the idempotency record of their requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.formats import DeviceKind
from core.models.base import Base, BigId, UTCDateTime

_KINDS_SQL = ", ".join(f"'{kind.value}'" for kind in DeviceKind)


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (CheckConstraint(f"kind IN ({_KINDS_SQL})", name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credentials_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessedRequest(Base):
    """(device, request id) → the answer sent, so a retry is answered the same and runs once."""

    __tablename__ = "processed_requests"

    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    op: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
