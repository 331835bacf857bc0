"""harvest: OAI-PMH harvest sources and the harvest run log

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0001"
branch_labels = ("harvest",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "libext_harvest_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("metadata_prefix", sa.String(length=64), nullable=False),
        sa.Column("set_spec", sa.String(length=255), nullable=True),
        sa.Column("repository_name", sa.String(length=255), nullable=False),
        sa.Column("granularity", sa.String(length=32), nullable=False),
        sa.Column("earliest_datestamp", sa.String(length=32), nullable=True),
        sa.Column("high_water", sa.DateTime(), nullable=True),
        sa.Column("pending_high_water", sa.DateTime(), nullable=True),
        sa.Column("resumption_token", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libext_library.id"],
            name=op.f("fk_libext_harvest_source_library_id_libext_library"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_harvest_source")),
        sa.UniqueConstraint("library_id", name=op.f("uq_libext_harvest_source_library_id")),
    )
    op.create_table(
        "libext_harvest_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started", sa.DateTime(), nullable=False),
        sa.Column("finished", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("from_date", sa.String(length=32), nullable=True),
        sa.Column("until_date", sa.String(length=32), nullable=True),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("resumed", sa.Boolean(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["libext_harvest_source.id"],
            name=op.f("fk_libext_harvest_run_source_id_libext_harvest_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_harvest_run")),
    )
    with op.batch_alter_table("libext_harvest_run", schema=None) as batch_op:
        batch_op.create_index(
            "ix_libext_harvest_run_source_started", ["source_id", "started"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("libext_harvest_run", schema=None) as batch_op:
        batch_op.drop_index("ix_libext_harvest_run_source_started")
    op.drop_table("libext_harvest_run")
    op.drop_table("libext_harvest_source")
