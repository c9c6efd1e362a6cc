"""One Snipe-IT report per rental and action; longer audit entity ids

Two syncs at the same moment (the handler service's sweep and `makerbus snipeit sync`) could
both queue a rental's missing report; the unique index keeps one. Duplicates queued before it
are dropped (the oldest stays), so that Snipe-IT is not told twice.

The audit trail names a category or an API token by its name (up to 100 characters): its
entity id column grows from 64 to 128.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ux_snipeit_reports_rental_id_action"


def upgrade() -> None:
    op.execute(
        "DELETE FROM snipeit_reports WHERE id NOT IN ("
        "SELECT MIN(id) FROM snipeit_reports GROUP BY rental_id, action)"
    )
    op.create_index(INDEX, "snipeit_reports", ["rental_id", "action"], unique=True)
    with op.batch_alter_table("audit_events") as table:
        table.alter_column("entity_id", existing_type=sa.String(64), type_=sa.String(128))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as table:
        table.alter_column("entity_id", existing_type=sa.String(128), type_=sa.String(64))
    op.drop_index(INDEX, table_name="snipeit_reports")
