"""Machine tariffs, authorizations, sub-admins, sessions; member credit limit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "authorizations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "device_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("login_fee_cents", sa.BigInteger(), nullable=True),
        sa.Column("price_per_minute_cents", sa.BigInteger(), nullable=True),
        sa.Column("interval_min", sa.Integer(), nullable=True),
        sa.Column("granted_by", sa.String(length=255), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "interval_min IS NULL OR interval_min BETWEEN 1 AND 1440",
            name=op.f("ck_authorizations_interval_range"),
        ),
        sa.CheckConstraint(
            "login_fee_cents IS NULL OR login_fee_cents >= 0",
            name=op.f("ck_authorizations_login_fee_not_negative"),
        ),
        sa.CheckConstraint(
            "price_per_minute_cents IS NULL OR price_per_minute_cents >= 0",
            name=op.f("ck_authorizations_price_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_authorizations_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_authorizations_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorizations")),
        sa.UniqueConstraint("member_id", "device_id", name=op.f("uq_authorizations_member_id")),
    )
    with op.batch_alter_table("authorizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authorizations_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "machine_admins",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "device_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("oidc_subject", sa.String(length=255), nullable=False),
        sa.Column("granted_by", sa.String(length=255), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_machine_admins_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machine_admins")),
        sa.UniqueConstraint("device_id", "oidc_subject", name=op.f("uq_machine_admins_device_id")),
    )
    with op.batch_alter_table("machine_admins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_machine_admins_oidc_subject"), ["oidc_subject"], unique=False
        )

    op.create_table(
        "machine_tariffs",
        sa.Column(
            "device_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("login_fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("price_per_minute_cents", sa.BigInteger(), nullable=False),
        sa.Column("interval_min", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "interval_min BETWEEN 1 AND 1440", name=op.f("ck_machine_tariffs_interval_range")
        ),
        sa.CheckConstraint(
            "login_fee_cents >= 0", name=op.f("ck_machine_tariffs_login_fee_not_negative")
        ),
        sa.CheckConstraint(
            "price_per_minute_cents >= 0", name=op.f("ck_machine_tariffs_price_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_machine_tariffs_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_machine_tariffs")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "device_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("card_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("login_fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("price_per_minute_cents", sa.BigInteger(), nullable=False),
        sa.Column("interval_min", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prepaid_cents", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("total_cents", sa.BigInteger(), nullable=True),
        sa.Column("refund_cents", sa.BigInteger(), nullable=True),
        sa.Column("device_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_sessions_card_id_cards"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_sessions_device_id_devices"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_sessions_member_id_members"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sessions_device_not_told",
            ["ended_at"],
            unique=False,
            sqlite_where=sa.text("ended_at IS NOT NULL AND device_told_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NOT NULL AND device_told_at IS NULL"),
        )
        batch_op.create_index(
            "ix_sessions_member_id_started_at", ["member_id", "started_at"], unique=False
        )
        batch_op.create_index(
            "ix_sessions_open",
            ["paid_until"],
            unique=False,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.create_index(
            "uq_sessions_open_per_device",
            ["device_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_ledger_entries_session_id_sessions"),
            "sessions",
            ["session_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credit_limit_cents", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint("credit_limit_not_negative", "credit_limit_cents >= 0")
        batch_op.create_check_constraint(
            "balance_above_credit_limit", "balance_cents >= -credit_limit_cents"
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_members_balance_above_credit_limit"), type_="check")
        batch_op.drop_constraint(op.f("ck_members_credit_limit_not_negative"), type_="check")
        batch_op.drop_column("credit_limit_cents")

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ledger_entries_session_id_sessions"), type_="foreignkey"
        )
        batch_op.drop_column("session_id")

    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_sessions_open_per_device",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_sessions_open",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index("ix_sessions_member_id_started_at")
        batch_op.drop_index(
            "ix_sessions_device_not_told",
            sqlite_where=sa.text("ended_at IS NOT NULL AND device_told_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NOT NULL AND device_told_at IS NULL"),
        )

    op.drop_table("sessions")
    op.drop_table("machine_tariffs")
    with op.batch_alter_table("machine_admins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_machine_admins_oidc_subject"))

    op.drop_table("machine_admins")
    with op.batch_alter_table("authorizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authorizations_device_id"))

    op.drop_table("authorizations")
