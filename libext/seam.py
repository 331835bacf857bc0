"""The host seam's implementation over libext's own store.

The OAI provider and the exporter read records only through :class:`oai.source.RecordSource`
(re-exported here as the documented seam). :class:`StoreRecordSource` implements it on the
libext tables; a host ILS that keeps its own tables passes its own implementation to
``LibExt(record_source=...)`` instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pymarc
from sqlalchemy import Row, Select, func, select, tuple_
from sqlalchemy.orm import Session

from libext.models import Holding, Library, Record
from libext.vocab import material_type_name
from oai.source import (
    HoldingInfo,
    ListQuery,
    Position,
    Provenance,
    RecordSource,
    SetInfo,
    SourceRecord,
)

__all__ = [
    "HoldingInfo",
    "ListQuery",
    "Position",
    "Provenance",
    "RecordSource",
    "SetInfo",
    "SourceRecord",
    "StoreRecordSource",
    "parse_marc",
]

LIBRARY_SET = "library"
TYPE_SET = "type"


def parse_marc(data: bytes) -> pymarc.Record:
    """A stored record (UTF-8 ISO 2709) as a pymarc Record."""
    return pymarc.Record(data=data, to_unicode=True, force_utf8=True)


class StoreRecordSource:
    """:class:`~oai.source.RecordSource` over the libext store (keys are record ids)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- protocol --------------------------------------------------------------------------
    def earliest_datestamp(self) -> datetime | None:
        """Smallest datestamp of any record, deleted ones included."""
        return self.session.scalar(select(func.min(Record.datestamp)))

    def parse_key(self, text: str) -> int | None:
        """Record ids are positive integers written in decimal."""
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            return None
        return int(text)

    def get(self, key: int | str) -> SourceRecord | None:
        """One record by id."""
        if not isinstance(key, int):
            return None
        rows = self.session.execute(self._columns().where(Record.id == key)).all()
        return self._to_sources(rows)[0] if rows else None

    def list(self, query: ListQuery, limit: int) -> list[SourceRecord]:
        """Records in (datestamp, id) order, strictly after ``query.after``."""
        stmt = self._filtered(self._columns(), query)
        if query.after is not None:
            stamp, key = query.after
            # A row-value comparison, not "a > x OR (a = x AND b > y)": SQLite and PostgreSQL
            # both seek the (datestamp, id) index for it, where the OR form made SQLite scan
            # and sort the whole table for every page (an export of 100,000 records took
            # quadratic time).
            stmt = stmt.where(tuple_(Record.datestamp, Record.id) > tuple_(stamp, key))
        stmt = stmt.order_by(Record.datestamp, Record.id).limit(limit)
        return self._to_sources(self.session.execute(stmt).all())

    def count(self, query: ListQuery) -> int:
        """How many records match, ignoring ``after``."""
        stmt = self._filtered(select(func.count(Record.id)), query)
        return int(self.session.scalar(stmt) or 0)

    def sets(self) -> Iterable[SetInfo]:
        """``library`` and ``type`` parents, one set per library and per material type."""
        out = [SetInfo(LIBRARY_SET, "Thư viện (Libraries)")]
        for lib in self.session.scalars(select(Library).order_by(Library.code)):
            out.append(SetInfo(f"{LIBRARY_SET}:{lib.code}", lib.name))
        out.append(SetInfo(TYPE_SET, "Loại tài liệu (Material types)"))
        types = self.session.scalars(
            select(Record.material_type).distinct().order_by(Record.material_type)
        )
        for code in types:
            if code and code.isalnum():
                name = f"{material_type_name(code, 'vi')} ({material_type_name(code, 'en')})"
                out.append(SetInfo(f"{TYPE_SET}:{code}", name))
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _filtered(self, stmt: Select, query: ListQuery) -> Select:
        if query.since is not None:
            stmt = stmt.where(Record.datestamp >= query.since)
        if query.until is not None:
            stmt = stmt.where(Record.datestamp <= query.until)
        if not query.include_deleted:
            stmt = stmt.where(Record.deleted.is_(False))
        if query.keys is not None:
            stmt = stmt.where(Record.id.in_([k for k in query.keys if isinstance(k, int)]))
        codes = [c for c in (query.library_code, self._set_library(query.set_spec)) if c]
        for code in codes:
            stmt = stmt.where(Record.library_id.in_(select(Library.id).where(Library.code == code)))
        if query.set_spec and query.set_spec.startswith(f"{TYPE_SET}:"):
            stmt = stmt.where(Record.material_type == query.set_spec.split(":", 1)[1])
        elif query.set_spec and query.set_spec not in (LIBRARY_SET, TYPE_SET) and not codes:
            stmt = stmt.where(Record.id < 0)  # an unknown set holds nothing
        return stmt

    @staticmethod
    def _set_library(set_spec: str | None) -> str | None:
        if set_spec and set_spec.startswith(f"{LIBRARY_SET}:"):
            return set_spec.split(":", 1)[1] or "\x00"
        return None

    @staticmethod
    def _columns() -> Select:
        # Plain rows, not ORM objects: a harvest reads every record once, and building
        # entities (and parsing MARC nobody asked for) would dominate the provider's time.
        return select(
            Record.id,
            Record.datestamp,
            Record.deleted,
            Record.marc,
            Record.material_type,
            Record.origin_base_url,
            Record.origin_identifier,
            Record.origin_datestamp,
            Library.code,
            Library.name,
        ).join(Library, Library.id == Record.library_id)

    def _to_sources(self, rows: Sequence[Row[Any]]) -> list[SourceRecord]:
        holdings: dict[int, list[HoldingInfo]] = defaultdict(list)
        names = {row.id: (row.code, row.name) for row in rows}
        if names:
            found = self.session.execute(
                select(
                    Holding.record_id,
                    Holding.call_number,
                    Holding.barcode,
                    Holding.location,
                    Holding.status,
                )
                .where(Holding.record_id.in_(list(names)))
                .order_by(Holding.id)
            )
            for h in found:
                code, name = names[h.record_id]
                holdings[h.record_id].append(
                    HoldingInfo(
                        library_code=code,
                        library_name=name,
                        call_number=h.call_number,
                        barcode=h.barcode,
                        location=h.location,
                        status=h.status,
                    )
                )
        out = []
        for row in rows:
            provenance = None
            if row.origin_base_url and row.origin_identifier:
                provenance = Provenance(
                    base_url=row.origin_base_url,
                    identifier=row.origin_identifier,
                    datestamp=row.origin_datestamp or "",
                )
            sets: tuple[str, ...] = (f"{LIBRARY_SET}:{row.code}",)
            if row.material_type.isalnum():
                sets += (f"{TYPE_SET}:{row.material_type}",)
            out.append(
                SourceRecord(
                    key=row.id,
                    datestamp=row.datestamp,
                    deleted=row.deleted,
                    sets=sets,
                    holdings=tuple(holdings.get(row.id, ())),
                    provenance=provenance,
                    library_code=row.code,
                    marc_bytes=row.marc,
                )
            )
        return out
