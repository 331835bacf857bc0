"""accounts: built-in users, their libraries, API tokens, login failures

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0005"
down_revision = "0001"
branch_labels = ("auth",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "libext_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_login", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_user")),
        sa.UniqueConstraint("name", name=op.f("uq_libext_user_name")),
    )
    op.create_table(
        "libext_user_library",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libext_library.id"],
            name=op.f("fk_libext_user_library_library_id_libext_library"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["libext_user.id"],
            name=op.f("fk_libext_user_library_user_id_libext_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "library_id", name=op.f("pk_libext_user_library")),
    )
    op.create_table(
        "libext_api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_used", sa.DateTime(), nullable=True),
        sa.Column("revoked", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["libext_user.id"],
            name=op.f("fk_libext_api_token_user_id_libext_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_api_token")),
        sa.UniqueConstraint("digest", name=op.f("uq_libext_api_token_digest")),
    )
    op.create_table(
        "libext_login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_login_failure")),
    )
    op.create_index(
        "ix_libext_login_failure_key_at", "libext_login_failure", ["key", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_libext_login_failure_key_at", table_name="libext_login_failure")
    op.drop_table("libext_login_failure")
    op.drop_table("libext_api_token")
    op.drop_table("libext_user_library")
    op.drop_table("libext_user")
