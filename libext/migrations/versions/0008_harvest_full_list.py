"""harvest: a --full list survives the run that started it (full_list, libext_harvest_seen)

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "libext_harvest_source",
        sa.Column("full_list", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "libext_harvest_seen",
        sa.Column(
            "source_id",
            sa.Integer(),
            sa.ForeignKey("libext_harvest_source.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("local_id", sa.String(length=255), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("libext_harvest_seen")
    with op.batch_alter_table("libext_harvest_source") as batch:  # SQLite rebuilds the table
        batch.drop_column("full_list")
