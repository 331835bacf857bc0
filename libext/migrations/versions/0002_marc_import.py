"""marc: import batches, per-record outcomes, match keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = ("marc",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "libext_import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=512), nullable=False),
        sa.Column("staged_path", sa.String(length=1024), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("match_rules", sa.String(length=64), nullable=False),
        sa.Column("on_match", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("last_ordinal", sa.Integer(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("finished", sa.DateTime(), nullable=True),
        sa.Column("reverted", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libext_library.id"],
            name=op.f("fk_libext_import_batch_library_id_libext_library"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_import_batch")),
    )
    op.create_index(
        op.f("ix_libext_import_batch_library_id"), "libext_import_batch", ["library_id"]
    )
    op.create_index(
        op.f("ix_libext_import_batch_file_sha256"), "libext_import_batch", ["file_sha256"]
    )
    op.create_table(
        "libext_import_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("control_number", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("previous_marc", sa.LargeBinary(), nullable=True),
        sa.Column("previous_deleted", sa.Boolean(), nullable=True),
        sa.Column("previous_holdings", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["libext_import_batch.id"],
            name=op.f("fk_libext_import_outcome_batch_id_libext_import_batch"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["libext_record.id"],
            name=op.f("fk_libext_import_outcome_record_id_libext_record"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_import_outcome")),
    )
    op.create_index(
        "ix_libext_import_outcome_batch_ordinal", "libext_import_outcome", ["batch_id", "ordinal"]
    )
    op.create_index(
        op.f("ix_libext_import_outcome_record_id"), "libext_import_outcome", ["record_id"]
    )
    op.create_table(
        "libext_match_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libext_library.id"],
            name=op.f("fk_libext_match_key_library_id_libext_library"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["libext_record.id"],
            name=op.f("fk_libext_match_key_record_id_libext_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_match_key")),
    )
    op.create_index(
        "ix_libext_match_key_lookup", "libext_match_key", ["library_id", "kind", "value"]
    )
    op.create_index(op.f("ix_libext_match_key_record_id"), "libext_match_key", ["record_id"])


def downgrade() -> None:
    op.drop_table("libext_match_key")
    op.drop_table("libext_import_outcome")
    op.drop_table("libext_import_batch")
