"""Machines' tariffs, who may use them (with their own prices), sub-admins, and sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, Cents, UTCDateTime


class MachineTariff(Base):
    """The prices of a machine device; an authorization may override each value."""

    __tablename__ = "machine_tariffs"
    __table_args__ = (
        CheckConstraint("login_fee_cents >= 0", name="login_fee_not_negative"),
        CheckConstraint("price_per_minute_cents >= 0", name="price_not_negative"),
        CheckConstraint("interval_min BETWEEN 1 AND 1440", name="interval_range"),
    )

    device_id: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    login_fee_cents: Mapped[int] = mapped_column(Cents)
    price_per_minute_cents: Mapped[int] = mapped_column(Cents)
    interval_min: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(255))


class Authorization(Base):
    """A member may use a machine, optionally at their own prices."""

    __tablename__ = "authorizations"
    __table_args__ = (
        UniqueConstraint("member_id", "device_id"),
        CheckConstraint(
            "login_fee_cents IS NULL OR login_fee_cents >= 0", name="login_fee_not_negative"
        ),
        CheckConstraint(
            "price_per_minute_cents IS NULL OR price_per_minute_cents >= 0",
            name="price_not_negative",
        ),
        CheckConstraint(
            "interval_min IS NULL OR interval_min BETWEEN 1 AND 1440", name="interval_range"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    login_fee_cents: Mapped[int | None] = mapped_column(Cents)
    price_per_minute_cents: Mapped[int | None] = mapped_column(Cents)
    interval_min: Mapped[int | None]
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MachineAdmin(Base):
    """An OIDC subject who manages one machine's authorizations."""

    __tablename__ = "machine_admins"
    __table_args__ = (UniqueConstraint("device_id", "oidc_subject"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    oidc_subject: Mapped[str] = mapped_column(String(255), index=True)
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MachineSession(Base):
    """A member's use of a machine, with the tariff fixed at its start."""

    __tablename__ = "sessions"
    __table_args__ = (
        # At most one open session per machine, enforced by the database.
        Index(
            "uq_sessions_open_per_device",
            "device_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_sessions_member_id_started_at", "member_id", "started_at"),
        Index(
            "ix_sessions_open",
            "paid_until",
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index(
            "ix_sessions_device_not_told",
            "ended_at",
            sqlite_where=text("ended_at IS NOT NULL AND device_told_at IS NULL"),
            postgresql_where=text("ended_at IS NOT NULL AND device_told_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id", ondelete="SET NULL"))
    login_fee_cents: Mapped[int] = mapped_column(Cents)
    price_per_minute_cents: Mapped[int] = mapped_column(Cents)
    interval_min: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prepaid_cents: Mapped[int] = mapped_column(Cents, default=0)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[int | None]
    total_cents: Mapped[int | None] = mapped_column(Cents)
    refund_cents: Mapped[int | None] = mapped_column(Cents)
    # Set when the device knows the session is over: at once when it ended the session itself,
    # after `cmd/session/terminate` was published when the reaper or an admin closed it.
    device_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
