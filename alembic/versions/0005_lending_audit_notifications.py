"""Projects, equipment requests, audit trail, notifications, Snipe-IT reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=255), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(actor_kind = 'system') = (actor_id IS NULL)",
            name=op.f("ck_audit_events_system_has_no_actor_id"),
        ),
        sa.CheckConstraint(
            "actor_kind IN ('person', 'device', 'system')", name=op.f("ck_audit_events_actor_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_actor_id_id", ["actor_id", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_events_entity_entity_id_id", ["entity", "entity_id", "id"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(audience = 'member') = (member_id IS NOT NULL)",
            name=op.f("ck_notifications_member_audience_has_member"),
        ),
        sa.CheckConstraint(
            "audience IN ('member', 'technicians')", name=op.f("ck_notifications_audience")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_notifications_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_audience_read_at", ["audience", "read_at"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_member_id_read_at", ["member_id", "read_at"], unique=False
        )

    op.create_table(
        "projects",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'rejected', 'completed', 'archived')",
            name=op.f("ck_projects_status"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["members.id"],
            name=op.f("fk_projects_created_by_members"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_status"), ["status"], unique=False)

    op.create_table(
        "equipment_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "requested_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("rental_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'cancelled', 'checked_out', "
            "'returned', 'overdue')",
            name=op.f("ck_equipment_requests_status"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_equipment_requests_period")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["rental_items.id"],
            name=op.f("fk_equipment_requests_item_id_rental_items"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_equipment_requests_project_id_projects"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rental_id"],
            ["rentals.id"],
            name=op.f("fk_equipment_requests_rental_id_rentals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["members.id"],
            name=op.f("fk_equipment_requests_requested_by_members"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_requests")),
    )
    with op.batch_alter_table("equipment_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_equipment_requests_item_id_status", ["item_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_equipment_requests_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "project_members",
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('leader', 'member', 'advisor')", name=op.f("ck_project_members_role")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_project_members_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_members_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "member_id", name=op.f("pk_project_members")),
    )
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_members_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "snipeit_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "rental_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "action IN ('checkout', 'checkin')", name=op.f("ck_snipeit_reports_action")
        ),
        sa.ForeignKeyConstraint(
            ["rental_id"],
            ["rentals.id"],
            name=op.f("fk_snipeit_reports_rental_id_rentals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snipeit_reports")),
    )
    with op.batch_alter_table("snipeit_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_snipeit_reports_done_at_next_attempt_at",
            ["done_at", "next_attempt_at"],
            unique=False,
        )

    # Not in batch mode: SQLite adds a column and an index without rebuilding the table.
    op.add_column("rental_items", sa.Column("snipeit_asset_id", sa.Integer(), nullable=True))
    op.create_index(
        "uq_rental_items_snipeit_asset_id", "rental_items", ["snipeit_asset_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_rental_items_snipeit_asset_id", table_name="rental_items")
    op.drop_column("rental_items", "snipeit_asset_id")  # SQLite 3.35+ drops it in place

    with op.batch_alter_table("snipeit_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_snipeit_reports_done_at_next_attempt_at")

    op.drop_table("snipeit_reports")
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_members_member_id"))

    op.drop_table("project_members")
    with op.batch_alter_table("equipment_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equipment_requests_project_id"))
        batch_op.drop_index("ix_equipment_requests_item_id_status")

    op.drop_table("equipment_requests")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_status"))

    op.drop_table("projects")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_member_id_read_at")
        batch_op.drop_index("ix_notifications_audience_read_at")

    op.drop_table("notifications")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_entity_entity_id_id")
        batch_op.drop_index("ix_audit_events_actor_id_id")

    op.drop_table("audit_events")
