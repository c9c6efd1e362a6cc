"""The audit trail of status changes and admin actions, and members' in-app notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, UTCDateTime

ACTOR_KINDS = ("person", "device", "system")
AUDIENCES = ("member", "technicians")


class AuditEvent(Base):
    """One change: who (a person's OIDC subject, a device's slug, or the system itself, with no
    id), when, what (entity and id), the action, old → new, and a note."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(
            f"actor_kind IN ({', '.join(repr(kind) for kind in ACTOR_KINDS)})", name="actor_kind"
        ),
        CheckConstraint(
            "(actor_kind = 'system') = (actor_id IS NULL)", name="system_has_no_actor_id"
        ),
        Index("ix_audit_events_entity_entity_id_id", "entity", "entity_id", "id"),
        Index("ix_audit_events_actor_id_id", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(255))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    entity: Mapped[str] = mapped_column(String(32))
    # The longest names an entity by: a category's or an API token's name (100), a TID (64).
    entity_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """An in-app notice for one member, or for the technicians together (a shared inbox: one
    of them marking it read marks it read for all)."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(
            f"audience IN ({', '.join(repr(kind) for kind in AUDIENCES)})", name="audience"
        ),
        CheckConstraint(
            "(audience = 'member') = (member_id IS NOT NULL)", name="member_audience_has_member"
        ),
        Index("ix_notifications_member_id_read_at", "member_id", "read_at"),
        Index("ix_notifications_audience_read_at", "audience", "read_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    audience: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    # What the text is made of (names, dates), JSON: the page words it in the reader's language.
    data: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SnipeItReport(Base):
    """A checkout or check-in made at a station, to be reported to Snipe-IT (an outbox: written
    in the rental's transaction, sent later by the sweep, retried until it went through)."""

    __tablename__ = "snipeit_reports"
    __table_args__ = (
        CheckConstraint("action IN ('checkout', 'checkin')", name="action"),
        Index("ix_snipeit_reports_done_at_next_attempt_at", "done_at", "next_attempt_at"),
        # One report of each kind per rental, however many syncs queue at once.
        Index("ux_snipeit_reports_rental_id_action", "rental_id", "action", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rental_id: Mapped[int] = mapped_column(ForeignKey("rentals.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
