"""Search index and edition clusters.

A *cluster* links the records of one edition held by different libraries; it is what a
search returns (one result per edition). Member records are never merged away: each stays in
``libext_record`` and is linked here. The full-text index itself (an FTS5 virtual table on
SQLite, a table of ``tsvector`` columns on PostgreSQL, both named ``libext_search_fts``) is
engine-specific and therefore created by the migration only, not modelled here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from libext.models.base import Base, utcnow


class SearchCluster(Base):
    """One edition: its key, the member shown (the most complete record) and sort columns."""

    __tablename__ = "libext_search_cluster"
    __table_args__ = (
        Index("ix_libext_search_cluster_year", "year"),
        Index("ix_libext_search_cluster_title_sort", "title_sort"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``isbn:<ISBN-13>`` or ``work:<title>|<author>|<year>|<type>``, shown on the record page.
    key: Mapped[str] = mapped_column(String(512), default="", index=True)
    #: The member displayed: the most complete record of the cluster.
    representative_id: Mapped[int | None] = mapped_column(
        ForeignKey("libext_record.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[str] = mapped_column(Text, default="")  # one per line
    year: Mapped[int | None] = mapped_column(Integer)
    isbns: Mapped[str] = mapped_column(Text, default="")
    material_type: Mapped[str] = mapped_column(String(2), default="")
    language: Mapped[str] = mapped_column(String(3), default="")
    #: Vietnamese alphabetical sort key of the title (see libext.search.collation).
    title_sort: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    #: Number of libraries holding the edition: the ranking tie-breaker.
    library_count: Mapped[int] = mapped_column(Integer, default=0)
    #: The cluster's facet values as codes (see libext.search.facets): one read per hit.
    facet_ids: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    updated: Mapped[datetime] = mapped_column(default=utcnow)


class SearchMember(Base):
    """A record's link to its cluster, with the facts clustering compared (JSON)."""

    __tablename__ = "libext_search_member"

    record_id: Mapped[int] = mapped_column(
        ForeignKey("libext_record.id", ondelete="CASCADE"), primary_key=True
    )
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("libext_search_cluster.id", ondelete="CASCADE"), index=True
    )
    work_key: Mapped[str] = mapped_column(String(512), default="", index=True)
    facts: Mapped[str] = mapped_column(Text, default="{}")
    #: Set when a cataloguer split the record off: it stays alone in its cluster.
    manual: Mapped[bool] = mapped_column(Boolean, default=False)


class SearchIsbn(Base):
    """Normalised ISBN-13s of member records: the first clustering key."""

    __tablename__ = "libext_search_isbn"

    isbn: Mapped[str] = mapped_column(String(13), primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("libext_record.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SearchFacet(Base):
    """A facet value (library code, type, language, decade, subject, author) and its number.

    Clusters list their values as codes in ``SearchCluster.facet_ids``; counting facets over
    the hits of a query then reads one row per hit instead of one per value.
    """

    __tablename__ = "libext_search_facet"
    __table_args__ = (UniqueConstraint("facet", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facet: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
