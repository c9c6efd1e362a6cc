"""Rental items with UHF tags, who may rent, and rentals (one open per item)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, UTCDateTime


class RentalItem(Base):
    __tablename__ = "rental_items"
    __table_args__ = (
        CheckConstraint("tid = upper(tid)", name="tid_upper_case"),
        # An index, not a constraint: SQLite adds it without rebuilding the table, which the
        # rentals referencing it would forbid.
        Index("uq_rental_items_snipeit_asset_id", "snipeit_asset_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The asset's id in Snipe-IT when the item is mirrored from there (MAKERBUS_SNIPEIT_URL).
    snipeit_asset_id: Mapped[int | None]


class RentalPermission(Base):
    """A member may rent items (all of them)."""

    __tablename__ = "rental_permissions"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rental(Base):
    __tablename__ = "rentals"
    __table_args__ = (
        # An item is out to one member at a time, enforced by the database.
        Index(
            "uq_rentals_open_per_item",
            "item_id",
            unique=True,
            sqlite_where=text("returned_at IS NULL"),
            postgresql_where=text("returned_at IS NULL"),
        ),
        Index("ix_rentals_member_id_rented_at", "member_id", "rented_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("rental_items.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    rented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL")
    )
