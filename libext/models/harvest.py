"""Harvest sources (a library's OAI-PMH endpoint) and the log of every harvest run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from libext.models.base import Base, utcnow
from libext.models.library import Library


class HarvestSource(Base):
    """The OAI-PMH endpoint the union catalogue harvests for one library.

    Harvested records belong to ``library``. ``granularity`` and ``earliest_datestamp`` come
    from ``Identify`` when the source is added. ``high_water`` is the ``responseDate`` of the
    first page of the last list harvested to its end: the next incremental run asks for
    records ``from`` it, less a safety overlap. While a list is in progress,
    ``resumption_token`` is the token of the next page (saved in the same transaction as the
    page before it) and ``pending_high_water`` what ``high_water`` becomes once the list ends.
    ``full_list`` is set while the list in progress is a ``--full`` one: the identifiers it has
    listed so far are in :class:`HarvestSeen`, so whichever run completes it can sweep.
    """

    __tablename__ = "libext_harvest_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(
        ForeignKey("libext_library.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(String(1024))
    metadata_prefix: Mapped[str] = mapped_column(String(64))
    set_spec: Mapped[str | None] = mapped_column(String(255))
    repository_name: Mapped[str] = mapped_column(String(255), default="")
    granularity: Mapped[str] = mapped_column(String(32), default="YYYY-MM-DD")
    earliest_datestamp: Mapped[str | None] = mapped_column(String(32))
    high_water: Mapped[datetime | None] = mapped_column()
    pending_high_water: Mapped[datetime | None] = mapped_column()
    resumption_token: Mapped[str | None] = mapped_column(Text)
    full_list: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(default=utcnow)
    updated: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    library: Mapped[Library] = relationship(lazy="joined")
    runs: Mapped[list[HarvestRun]] = relationship(
        back_populates="source",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="HarvestRun.id",
    )

    def __repr__(self) -> str:
        return f"<HarvestSource {self.id} {self.url}>"

    @property
    def code(self) -> str:
        """The code of the library the source harvests for."""
        return self.library.code

    def to_dict(self) -> dict[str, object]:
        """The source as JSON-ready data."""
        return {
            "code": self.library.code,
            "name": self.library.name,
            "url": self.url,
            "prefix": self.metadata_prefix,
            "set": self.set_spec,
            "repository_name": self.repository_name,
            "granularity": self.granularity,
            "earliest_datestamp": self.earliest_datestamp,
            "high_water": _iso(self.high_water),
            "resuming": self.resumption_token is not None,
            "enabled": self.enabled,
        }


class HarvestRun(Base):
    """One harvest of one source: when, what it asked for, what it did, how it ended.

    ``status`` is ``running`` while it goes (a run left ``running`` by a killed process is
    closed as ``interrupted`` by the next run), then ``ok`` or ``failed``. At most one run of
    a source is ``running`` (a partial unique index): two overlapping harvests of one source
    cannot both start. ``owner`` (host:pid) and ``heartbeat`` (the last page written) tell a
    live run from one whose process died.
    """

    __tablename__ = "libext_harvest_run"
    __table_args__ = (
        Index("ix_libext_harvest_run_source_started", "source_id", "started"),
        Index(
            "uq_libext_harvest_run_source_running",
            "source_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("libext_harvest_source.id", ondelete="CASCADE")
    )
    started: Mapped[datetime] = mapped_column(default=utcnow)
    finished: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="running")
    from_date: Mapped[str | None] = mapped_column(String(32))
    until_date: Mapped[str | None] = mapped_column(String(32))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    resumed: Mapped[bool] = mapped_column(Boolean, default=False)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    #: Skipped records and repairs, one per line (the first hundred).
    problems: Mapped[str] = mapped_column(Text, default="")
    #: ``host:pid`` of the process running it.
    owner: Mapped[str | None] = mapped_column(String(128))
    #: When it last wrote a page (or started).
    heartbeat: Mapped[datetime | None] = mapped_column()

    source: Mapped[HarvestSource] = relationship(back_populates="runs")

    def __repr__(self) -> str:
        return f"<HarvestRun {self.id} {self.status}>"

    def to_dict(self) -> dict[str, object]:
        """The run as JSON-ready data."""
        return {
            "id": self.id,
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "status": self.status,
            "from": self.from_date,
            "until": self.until_date,
            "full": self.full,
            "resumed": self.resumed,
            "pages": self.pages,
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "error": self.error,
            "problems": [line for line in self.problems.split("\n") if line],
        }


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


class HarvestSeen(Base):
    """A record listed by the ``--full`` list in progress of a source (see ``full_list``).

    Written with each page, in the page's transaction, so that a ``--full`` harvest killed
    part-way and finished by a later run still knows every record the whole list named.
    """

    __tablename__ = "libext_harvest_seen"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("libext_harvest_source.id", ondelete="CASCADE"), primary_key=True
    )
    local_id: Mapped[str] = mapped_column(String(255), primary_key=True)
