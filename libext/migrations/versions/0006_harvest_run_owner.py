"""harvest: one running run per source; the run's owner and heartbeat

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None

_RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.add_column("libext_harvest_run", sa.Column("owner", sa.String(length=128), nullable=True))
    op.add_column("libext_harvest_run", sa.Column("heartbeat", sa.DateTime(), nullable=True))
    # Runs left 'running' by processes killed before this revision cannot be told apart from
    # live ones: close them, as the next run would have.
    op.execute(
        "UPDATE libext_harvest_run SET status = 'interrupted', "
        "error = 'the process was stopped' WHERE status = 'running'"
    )
    op.create_index(
        "uq_libext_harvest_run_source_running",
        "libext_harvest_run",
        ["source_id"],
        unique=True,
        sqlite_where=_RUNNING,
        postgresql_where=_RUNNING,
    )


def downgrade() -> None:
    op.drop_index("uq_libext_harvest_run_source_running", table_name="libext_harvest_run")
    with op.batch_alter_table("libext_harvest_run") as batch:  # SQLite rebuilds the table
        batch.drop_column("heartbeat")
        batch.drop_column("owner")
