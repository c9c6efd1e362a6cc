"""The lab's lending workflow: projects with their members, and equipment requests that
reserve a rental item for a project for a period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, UTCDateTime

PROJECT_STATUSES = ("pending", "active", "rejected", "completed", "archived")
PROJECT_ROLES = ("leader", "member", "advisor")
REQUEST_STATUSES = (
    "pending",
    "approved",
    "rejected",
    "cancelled",
    "checked_out",
    "returned",
    "overdue",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (CheckConstraint(_one_of("status", PROJECT_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The technician's decision (approve or reject) and its reason.
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class ProjectMember(Base):
    __tablename__ = "project_members"
    __table_args__ = (CheckConstraint(_one_of("role", PROJECT_ROLES), name="role"),)

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EquipmentRequest(Base):
    """A project asks for one rental item from `starts_at` until `ends_at`; kept whatever
    becomes of it (a rejected request keeps its reason, nothing is deleted)."""

    __tablename__ = "equipment_requests"
    __table_args__ = (
        CheckConstraint(_one_of("status", REQUEST_STATUSES), name="status"),
        CheckConstraint("ends_at > starts_at", name="period"),
        Index("ix_equipment_requests_item_id_status", "item_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="RESTRICT"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("rental_items.id", ondelete="RESTRICT"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    # The rental that took the item out under this request, once it did.
    rental_id: Mapped[int | None] = mapped_column(ForeignKey("rentals.id", ondelete="SET NULL"))
    # When "due tomorrow" was sent, so the sweep sends it once.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
