"""Cash boxes ("booking targets"), their ledger, and single-use card-link tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, Cents, UTCDateTime


class CashBox(Base):
    __tablename__ = "cash_boxes"
    __table_args__ = (CheckConstraint("balance_cents >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    balance_cents: Mapped[int] = mapped_column(Cents, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CashBoxEntry(Base):
    """One change of one cash box's balance; the balance is the sum of its entries."""

    __tablename__ = "cash_box_entries"
    __table_args__ = (Index("ix_cash_box_entries_box_id_id", "box_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    box_id: Mapped[int] = mapped_column(ForeignKey("cash_boxes.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(Cents)
    balance_after_cents: Mapped[int] = mapped_column(Cents)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    request_id: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LinkToken(Base):
    """A single-use, 15-minute token that lets its holder link one card to their login."""

    __tablename__ = "link_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
