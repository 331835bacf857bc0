"""Bibliographic records and their holdings."""

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
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from libext.models.base import Base, utcnow
from libext.models.library import Library


class Record(Base):
    """One bibliographic record of one library.

    ``marc`` keeps the record losslessly as UTF-8 ISO 2709: the bytes as imported when they
    were already valid NFC UTF-8, otherwise the converted record. The other columns are
    extracted from it for search, matching and OAI, and are rebuilt whenever ``marc`` changes.
    ``datestamp`` changes on every change (metadata, holdings, deletion): OAI harvesters and
    resumption tokens rely on it. A deleted record keeps its row (``deleted``) because OAI-PMH
    reports deletions persistently.
    """

    __tablename__ = "libext_record"
    __table_args__ = (
        Index("uq_libext_record_library_local", "library_id", "local_id", unique=True),
        Index("ix_libext_record_datestamp_id", "datestamp", "id"),
        Index("ix_libext_record_library_control", "library_id", "control_number"),
        # SQLite would otherwise hand the id of a deleted last record to the next one (see
        # migration 0009).
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libext_library.id", ondelete="CASCADE"))
    #: Identifier within the library: 001 for imports, the OAI identifier for harvested records.
    local_id: Mapped[str] = mapped_column(String(255))
    marc: Mapped[bytes] = mapped_column(LargeBinary)
    leader: Mapped[str] = mapped_column(String(24))
    control_number: Mapped[str | None] = mapped_column(String(64))
    control_org: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[str] = mapped_column(Text, default="")  # one name per line
    year: Mapped[int | None] = mapped_column(Integer)
    isbns: Mapped[str] = mapped_column(Text, default="")  # ISBN-13s separated by spaces
    issns: Mapped[str] = mapped_column(Text, default="")
    publisher: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(3), default="")
    material_type: Mapped[str] = mapped_column(String(2), default="")
    datestamp: Mapped[datetime] = mapped_column(default=utcnow)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    # No index: a flag on nearly every row selects nothing, and SQLite without statistics
    # preferred it to (datestamp, id), sorting the whole table for every page of a listing.
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # OAI provenance of harvested records, re-exposed in <about> by the provider.
    origin_base_url: Mapped[str | None] = mapped_column(String(1024))
    origin_identifier: Mapped[str | None] = mapped_column(String(512))
    origin_datestamp: Mapped[str | None] = mapped_column(String(32))

    library: Mapped[Library] = relationship(lazy="joined")
    holdings: Mapped[list[Holding]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="Holding.id"
    )

    def __repr__(self) -> str:
        return f"<Record {self.id} {self.local_id!r}>"

    @property
    def author_list(self) -> list[str]:
        """Authors as a list."""
        return [a for a in self.authors.split("\n") if a]

    @property
    def isbn_list(self) -> list[str]:
        """Normalised ISBN-13s as a list."""
        return self.isbns.split()


def live_record_counts(session: Session) -> dict[int, int]:
    """Library id → number of records not deleted (libraries with none are absent)."""
    rows = session.execute(
        select(Record.library_id, func.count(Record.id))
        .where(Record.deleted.is_(False))
        .group_by(Record.library_id)
    )
    return {library_id: count for library_id, count in rows}


class Holding(Base):
    """A copy of a record held by a library: call number, barcode, location, status."""

    __tablename__ = "libext_holding"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("libext_record.id", ondelete="CASCADE"), index=True
    )
    library_id: Mapped[int] = mapped_column(
        ForeignKey("libext_library.id", ondelete="CASCADE"), index=True
    )
    call_number: Mapped[str] = mapped_column(String(255), default="")
    barcode: Mapped[str] = mapped_column(String(64), default="")
    location: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(32), default="available")

    record: Mapped[Record] = relationship(back_populates="holdings")
    library: Mapped[Library] = relationship(lazy="joined")
