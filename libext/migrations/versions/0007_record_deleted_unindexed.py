"""foundation: drop the index on libext_record.deleted

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-26

A flag that is false on nearly every row selects nothing; SQLite, which keeps no
statistics unless asked, chose it over (datestamp, id) for listings and sorted the whole
table for every page of an export or a ListRecords.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_libext_record_deleted", table_name="libext_record")


def downgrade() -> None:
    op.create_index("ix_libext_record_deleted", "libext_record", ["deleted"], unique=False)
