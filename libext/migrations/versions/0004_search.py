"""search: edition clusters, facets and the full-text index

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-26

The full-text index is engine-specific and not modelled: on SQLite an FTS5 virtual table of
pre-folded text (SQLite's own diacritic removal does not fold đ), on PostgreSQL a table of
tsvector columns with GIN indexes (folding done in Python, so both engines match alike).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0001"
branch_labels = ("search",)
depends_on = None

# Every token is already folded or lower-cased by libext.search.folding and separated by
# spaces; the tokenizer only has to split on them (marks are kept as token characters).
FTS5_TOKENIZER = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'"


def upgrade() -> None:
    op.create_table(
        "libext_search_cluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("representative_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authors", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("isbns", sa.Text(), nullable=False),
        sa.Column("material_type", sa.String(length=2), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=False),
        sa.Column("title_sort", sa.LargeBinary(), nullable=False),
        sa.Column("library_count", sa.Integer(), nullable=False),
        sa.Column("facet_ids", sa.LargeBinary(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["representative_id"],
            ["libext_record.id"],
            name=op.f("fk_libext_search_cluster_representative_id_libext_record"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_search_cluster")),
    )
    with op.batch_alter_table("libext_search_cluster", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_libext_search_cluster_key"), ["key"], unique=False)
        batch_op.create_index("ix_libext_search_cluster_title_sort", ["title_sort"], unique=False)
        batch_op.create_index("ix_libext_search_cluster_year", ["year"], unique=False)

    op.create_table(
        "libext_search_member",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("work_key", sa.String(length=512), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["libext_search_cluster.id"],
            name=op.f("fk_libext_search_member_cluster_id_libext_search_cluster"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["libext_record.id"],
            name=op.f("fk_libext_search_member_record_id_libext_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_libext_search_member")),
    )
    with op.batch_alter_table("libext_search_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_libext_search_member_cluster_id"), ["cluster_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_libext_search_member_work_key"), ["work_key"], unique=False
        )

    op.create_table(
        "libext_search_isbn",
        sa.Column("isbn", sa.String(length=13), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["libext_record.id"],
            name=op.f("fk_libext_search_isbn_record_id_libext_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("isbn", "record_id", name=op.f("pk_libext_search_isbn")),
    )
    with op.batch_alter_table("libext_search_isbn", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_libext_search_isbn_record_id"), ["record_id"], unique=False
        )

    op.create_table(
        "libext_search_facet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libext_search_facet")),
        sa.UniqueConstraint("facet", "value", name=op.f("uq_libext_search_facet_facet_value")),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE libext_search_fts ("
            " cluster_id integer PRIMARY KEY"
            "  REFERENCES libext_search_cluster(id) ON DELETE CASCADE,"
            " doc tsvector NOT NULL,"
            " exact tsvector NOT NULL,"
            " facets tsvector NOT NULL,"
            " library_count integer NOT NULL DEFAULT 0,"
            " facet_ids bytea NOT NULL DEFAULT '')"
        )
        op.execute("CREATE INDEX ix_libext_search_fts_doc ON libext_search_fts USING gin (doc)")
        op.execute(
            "CREATE INDEX ix_libext_search_fts_exact ON libext_search_fts USING gin (exact)"
        )
        op.execute(
            "CREATE INDEX ix_libext_search_fts_facets ON libext_search_fts USING gin (facets)"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE libext_search_fts USING fts5("
            "title, author, subject, other, isbn, facets, exact, libs UNINDEXED, "
            f"tokenize=\"{FTS5_TOKENIZER}\")"
        )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS libext_search_fts")
    op.drop_table("libext_search_facet")
    op.drop_table("libext_search_isbn")
    op.drop_table("libext_search_member")
    op.drop_table("libext_search_cluster")
