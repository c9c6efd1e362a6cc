"""Members, their cards and the ledger that every balance change goes through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, Cents, UTCDateTime


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("credit_limit_cents >= 0", name="credit_limit_not_negative"),
        CheckConstraint("balance_cents >= -credit_limit_cents", name="balance_above_credit_limit"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    balance_cents: Mapped[int] = mapped_column(Cents, default=0, server_default="0")
    # How far below zero the balance may go; 0 means no credit.
    credit_limit_cents: Mapped[int] = mapped_column(Cents, default=0, server_default="0")
    pin_hash: Mapped[str | None] = mapped_column(String(100))
    pin_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    pin_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Card(Base):
    """An NFC card. The UID is upper-case hex (4, 7 or 10 bytes); it never is the member id."""

    __tablename__ = "cards"
    __table_args__ = (CheckConstraint("length(uid) IN (8, 14, 20)", name="uid_length"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uid: Mapped[str] = mapped_column(String(20), unique=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), index=True
    )
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LedgerEntry(Base):
    """One change of one member's balance; the balance is always the sum of its entries."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_member_id_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(Cents)
    balance_after_cents: Mapped[int] = mapped_column(Cents)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    box_id: Mapped[int | None] = mapped_column(ForeignKey("cash_boxes.id", ondelete="SET NULL"))
    counterparty_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    request_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
