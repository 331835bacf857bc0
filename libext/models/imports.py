"""MARC import batches, what happened to each record, and the keys imports match on.

Every import is an :class:`ImportBatch`. Each record of the file gets one
:class:`ImportOutcome` row, written in the same transaction as the record itself, holding
what a revert needs (the record's previous MARC, holdings and deleted flag) and, for a
rejected record, its raw bytes so the rejects can be downloaded and fixed.
:class:`MatchKey` lists each record's 035 $a, ISBNs and ISSNs so that incoming records are
matched by index lookups, not by scanning text columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from libext.models.base import Base, utcnow
from libext.models.library import Library

#: Batch states: ``staged`` (dry run kept for confirmation), ``running`` (writing; a batch
#: left ``running`` by a crash is resumed by the next run of the same file), ``done``,
#: ``failed`` (unreadable file), ``reverted``.
BATCH_STATES = ("staged", "running", "done", "failed", "reverted")


class ImportBatch(Base):
    """One import of one file for one library."""

    __tablename__ = "libext_import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(
        ForeignKey("libext_library.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(512), default="")
    #: Where a staged upload waits for confirmation (server-side path), else None.
    staged_path: Mapped[str | None] = mapped_column(String(1024))
    file_sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    format: Mapped[str] = mapped_column(String(16), default="")
    encoding: Mapped[str] = mapped_column(String(16), default="auto")
    match_rules: Mapped[str] = mapped_column(String(64), default="")
    on_match: Mapped[str] = mapped_column(String(16), default="replace")
    status: Mapped[str] = mapped_column(String(16), default="running")
    user: Mapped[str] = mapped_column(String(255), default="")
    #: Last input ordinal whose outcome is committed (a resumed run starts after it).
    last_ordinal: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    #: A file-level error (unreadable file) or a note such as a suggested encoding.
    message: Mapped[str] = mapped_column(Text, default="")
    #: A staged batch's dry-run report (JSON: examples and first errors) shown before confirming.
    summary: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(default=utcnow)
    finished: Mapped[datetime | None] = mapped_column()
    reverted: Mapped[datetime | None] = mapped_column()

    library: Mapped[Library] = relationship(lazy="joined")

    def to_dict(self) -> dict[str, Any]:
        """The batch's counts and state as JSON-ready data (CLI, API and pages alike)."""
        return {
            "batch": self.id,
            "library": self.library.code,
            "file": self.filename,
            "format": self.format,
            "status": self.status,
            "on_match": self.on_match,
            "match": self.match_rules,
            "read": self.read,
            "created": self.created_count,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "deleted": self.deleted,
            "user": self.user,
            "message": self.message,
            "created_at": self.created.isoformat(timespec="seconds"),
            "finished_at": self.finished.isoformat(timespec="seconds") if self.finished else None,
        }

    def __repr__(self) -> str:
        return f"<ImportBatch {self.id} {self.filename!r} {self.status}>"


class ImportOutcome(Base):
    """What one input record became: created, updated, deleted, skipped or rejected.

    ``action`` is one of ``created``, ``updated`` (overlay or merge), ``deleted`` (a
    leader/05 ``d`` record withdrew its match), ``skipped`` and ``rejected``. ``previous_*``
    hold the matched record as it was, for revert. ``raw`` keeps a rejected record's input.
    """

    __tablename__ = "libext_import_outcome"
    __table_args__ = (Index("ix_libext_import_outcome_batch_ordinal", "batch_id", "ordinal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("libext_import_batch.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("libext_record.id", ondelete="SET NULL"), index=True
    )
    control_number: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    matched_by: Mapped[str] = mapped_column(String(16), default="")
    previous_marc: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_deleted: Mapped[bool | None] = mapped_column(Boolean)
    #: JSON list of [call_number, barcode, location, status] before an overlay.
    previous_holdings: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)


class MatchKey(Base):
    """One identifier of a record an import can match on: ``035`` (system number, $a as
    written), ``isbn`` (ISBN-13) or ``issn``."""

    __tablename__ = "libext_match_key"
    __table_args__ = (Index("ix_libext_match_key_lookup", "library_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libext_library.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(
        ForeignKey("libext_record.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(255))
