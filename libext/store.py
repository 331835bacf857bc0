"""The record store: the one path every record write goes through.

Imports, harvests, the demo loader and cataloguers' edits all call :class:`RecordStore`, so
every record is stored the same way: Unicode NFC, UTF-8 ISO 2709 kept losslessly, extracted
columns rebuilt, holdings taken from 852/952, ``datestamp`` moved only when something really
changed (re-loading an unchanged record changes nothing, which keeps OAI harvests incremental).

Features that follow writes (the search index, clusters) register an ``after_write`` hook on
the extension; :meth:`RecordStore.flush` calls each hook with the ids of records changed and
deleted since the last flush, inside the same transaction.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import pymarc
from sqlalchemy import select
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload

from libext.bulk import any_of, insert_rows, inserted_ids
from libext.models import Holding, Library, Record, utcnow
from marc.extract import ByTag, Extracted, HoldingData, extract, holdings_from_record
from marc.fields import remove_nul
from marc.pickling import flat_pickle
from marc.writer import record_to_iso2709
from oai.source import Provenance

Action = Literal["created", "updated", "unchanged", "deleted"]
AfterWrite = Callable[[Session, Sequence[int], Sequence[int]], None]
#: Works out, from a normalised record (its fields grouped by tag), its stored bytes, its
#: row's columns and its ``extract(record, full=False)`` (which a preparer may
#: :func:`~marc.extract.complete`), what an ``after_write`` hook would otherwise read the
#: record back for. A module-level function, so that reading workers can run it; its result
#: must pickle.
Preparer = Callable[[ByTag, bytes, dict[str, object], Extracted], object]
#: ``session.info`` key under which :meth:`RecordStore.flush` hands the hooks the preparers'
#: results of the records being flushed (see :func:`prepared_extras`).
EXTRAS_INFO_KEY = "libext.store.extras"
#: ``session.info`` key under which :meth:`RecordStore.flush` hands the hooks the records it
#: inserted (see :func:`created_records`).
CREATED_INFO_KEY = "libext.store.created"


class StoreError(Exception):
    """Raised when a record cannot be stored (no usable content, unknown library)."""


@dataclass(slots=True)
class SaveResult:
    """What :meth:`RecordStore.save` did to one record."""

    record: Record
    action: Action


def normalize_record(record: pymarc.Record) -> pymarc.Record:
    """Bring every text of ``record`` to Unicode NFC without NUL characters, in place, and
    mark it UTF-8.

    MARC-8 conversions and NFD sources spell Vietnamese letters as base letter + combining
    marks ("ệ" as e + U+0323 + U+0302); stored and searched text is always precomposed.
    """
    remove_nul(record)
    nfc = unicodedata.normalize
    for fld in record.fields:
        if fld.is_control_field():
            if fld.data and not unicodedata.is_normalized("NFC", fld.data):
                fld.data = nfc("NFC", fld.data)
            continue
        for index, sub in enumerate(fld.subfields):
            if sub.value and not unicodedata.is_normalized("NFC", sub.value):
                fld.subfields[index] = pymarc.Subfield(sub.code, nfc("NFC", sub.value))
    leader = str(record.leader)
    if len(leader) == 24 and leader[9] != "a":
        record.leader = pymarc.Leader(leader[:9] + "a" + leader[10:])
    return record


def record_to_marc(record: pymarc.Record) -> bytes:
    """UTF-8 ISO 2709 bytes of an NFC record.

    Raises :class:`marc.errors.RecordTooLarge` or :class:`marc.errors.InvalidRecord` for a
    record that ISO 2709 cannot hold, where pymarc's ``as_marc`` would write broken bytes.
    """
    return record_to_iso2709(record, normalized=True)


def local_id_for(extracted: Extracted, marc_bytes: bytes) -> str:
    """The record's identifier within its library: its 001, else a content hash.

    A record without 001 gets a stable id derived from its bytes, so that loading the same
    file twice still finds it again.
    """
    if extracted.control_number:
        return extracted.control_number[:255]
    return "sha1:" + hashlib.sha1(marc_bytes).hexdigest()


HoldingRow = tuple[str, str, str, str]


def _holding_rows(holdings: Iterable[HoldingData]) -> list[HoldingRow]:
    return [
        (h.call_number[:255], h.barcode[:64], h.location[:255], h.status[:32] or "available")
        for h in holdings
    ]


@flat_pickle
@dataclass(slots=True)
class Prepared:
    """Everything the store writes for one record, worked out without the database.

    :func:`prepare` makes it from a :class:`pymarc.Record`; it is plain data (bytes, strings,
    tuples), so the CPU-heavy part of a bulk load (normalising, serialising, extracting) can
    run in worker processes and only this crosses back to the writer.
    """

    #: The record row's columns taken from the MARC record (``marc`` and ``leader`` included).
    columns: dict[str, object]
    #: The identifier within the library when the caller gives none (001, else a hash).
    local_id: str
    holdings: list[HoldingRow]
    #: What each preparer (by name) made of the record, for the hooks that follow writes.
    extras: dict[str, object] = field(default_factory=dict)

    @property
    def marc(self) -> bytes:
        """The UTF-8 ISO 2709 bytes to store."""
        return self.columns["marc"]  # type: ignore[return-value]


def prepare(
    record: pymarc.Record,
    marc_bytes: bytes | None = None,
    holdings: Sequence[HoldingData] | None = None,
    *,
    normalized: bool = False,
    preparers: Sequence[tuple[str, Preparer]] = (),
) -> Prepared:
    """Normalise ``record`` (in place) and work out what the store writes for it.

    ``marc_bytes`` are the exact UTF-8 ISO 2709 bytes to keep (a reader passes the original
    bytes of records that were already valid NFC UTF-8); by default the normalised record is
    serialised. ``holdings`` default to the record's 852 and 952 fields. ``normalized`` says
    the record is NFC with leader/09 ``a`` already (a reader that normalised every text as it
    read it), which spares checking every text twice. ``preparers`` fill ``extras``.
    """
    return prepare_extracted(
        record, marc_bytes, holdings, normalized=normalized, preparers=preparers
    )[0]


def prepare_extracted(
    record: pymarc.Record,
    marc_bytes: bytes | None = None,
    holdings: Sequence[HoldingData] | None = None,
    *,
    normalized: bool = False,
    preparers: Sequence[tuple[str, Preparer]] = (),
) -> tuple[Prepared, Extracted]:
    """:func:`prepare`, and the record's :class:`~marc.extract.Extracted` data with it (the
    identifiers and the row's columns, see ``extract(full=False)``, as the preparers are
    given it; one of them may have completed it)."""
    if not normalized:
        normalize_record(record)
    if marc_bytes is None:
        marc_bytes = record_to_marc(record)
    fields = ByTag(record)
    data = extract(fields, full=False)  # the row's columns only
    columns = _columns(record, data, marc_bytes)
    prepared = Prepared(
        columns=columns,
        local_id=local_id_for(data, marc_bytes),
        holdings=_holding_rows(holdings if holdings is not None else holdings_from_record(fields)),
        extras={name: preparer(fields, marc_bytes, columns, data) for name, preparer in preparers},
    )
    return prepared, data


def prepared_extras(session: Session, name: str) -> dict[int, object]:
    """In an ``after_write`` hook: record id → what preparer ``name`` made of that record,
    for the records of this flush that were saved in prepared form with it."""
    extras: dict[int, dict[str, object]] = session.info.get(EXTRAS_INFO_KEY) or {}
    return {rid: made[name] for rid, made in extras.items() if name in made}


def created_records(session: Session) -> dict[int, int]:
    """In an ``after_write`` hook: record id → library id, for the records this flush
    inserted.

    No row of a hook's table can refer to them yet: a record id is never handed out twice
    (PostgreSQL's sequences; ``AUTOINCREMENT`` on SQLite, see migration 0009), so rows that a
    deletion without foreign keys left behind never become a new record's."""
    return session.info.get(CREATED_INFO_KEY) or {}


@dataclass
class RecordStore:
    """Writes records of the libext store in one session.

    The caller owns the transaction: call :meth:`flush` (hooks run) and then commit.
    """

    session: Session
    after_write: Sequence[AfterWrite] = ()
    #: Run on every record as it is prepared (see :data:`Preparer`), by name.
    preparers: Sequence[tuple[str, Preparer]] = ()
    _changed: set[int] = field(default_factory=set)
    _deleted: set[int] = field(default_factory=set)
    _pending: list[Record] = field(default_factory=list)
    #: New records not yet in the database, and their holdings rows (by ``id()``): they are
    #: written with one multi-row INSERT per flush instead of the ORM's unit of work.
    _new: list[Record] = field(default_factory=list)
    _new_holdings: dict[int, list[HoldingRow]] = field(default_factory=dict)
    #: (library id, local id) → record, or None when known to be absent; cleared on flush.
    _known: dict[tuple[int, str], Record | None] = field(default_factory=dict)
    #: Attach new records to the session once written, as if loaded, so callers may go on
    #: using them (relationships included). Bulk writers that only need their ``id`` turn
    #: this off: attaching costs more per record than the INSERT.
    attach_new: bool = True
    #: The datestamp of what is written before the next flush (one transaction, one time).
    _stamp: datetime | None = None
    #: Preparers' results of the records saved since the last flush: by record id, and for
    #: new records not yet written, by ``id()`` of the record object.
    _extras: dict[int, dict[str, object]] = field(default_factory=dict)
    _new_extras: dict[int, dict[str, object]] = field(default_factory=dict)
    #: Record id → library id of the records inserted since the last flush.
    _created: dict[int, int] = field(default_factory=dict)

    def _now(self) -> datetime:
        if self._stamp is None:
            self._stamp = utcnow()
        return self._stamp

    def library(self, code: str) -> Library:
        """The library with ``code``; raises :class:`StoreError` when there is none."""
        library = self.session.scalar(select(Library).where(Library.code == code))
        if library is None:
            raise StoreError(f"no library with code {code!r}")
        return library

    def find(self, library: Library, local_id: str) -> Record | None:
        """The record of ``library`` with ``local_id``, deleted or not."""
        key = (library.id, local_id)
        if key not in self._known:
            # No autoflush: records saved since the last flush are in ``_known`` already, and
            # flushing one record at a time would make bulk loads crawl.
            with self.session.no_autoflush:
                self._known[key] = self.session.scalar(
                    select(Record).where(
                        Record.library_id == library.id, Record.local_id == local_id
                    )
                )
        return self._known[key]

    def prefetch(self, library: Library, local_ids: Iterable[str]) -> None:
        """Look up many local ids of ``library`` in one query (bulk writers call this)."""
        library_id = library.id
        known = self._known
        wanted = [lid for lid in set(local_ids) if (library_id, lid) not in known]
        if not wanted:
            return
        with self.session.no_autoflush:
            found = self.session.scalars(
                select(Record)
                .where(
                    Record.library_id == library_id,
                    any_of(self.session, Record.local_id, wanted),
                )
                .options(selectinload(Record.holdings))
            )
            by_id = {rec.local_id: rec for rec in found}
        for lid in wanted:
            known[(library_id, lid)] = by_id.get(lid)

    def save(
        self,
        library: Library,
        record: pymarc.Record | Prepared,
        *,
        marc_bytes: bytes | None = None,
        local_id: str | None = None,
        existing: Record | None = None,
        holdings: Sequence[HoldingData] | None = None,
        provenance: Provenance | None = None,
    ) -> SaveResult:
        """Create or update one record of ``library``.

        ``record`` is a :class:`pymarc.Record` (prepared here, see :func:`prepare` for
        ``marc_bytes`` and ``holdings``) or a :class:`Prepared` one. ``existing`` skips the
        lookup by ``local_id`` (the importer's matcher has already found it).
        """
        if not isinstance(record, Prepared):
            record = prepare(record, marc_bytes, holdings, preparers=self.preparers)
        elif marc_bytes is not None or holdings is not None:
            raise TypeError("a Prepared record already holds its MARC bytes and holdings")
        local_id = local_id or record.local_id
        if existing is None:
            existing = self.find(library, local_id)
        rows = record.holdings
        marc_bytes = record.marc
        if existing is not None and self._unchanged(existing, marc_bytes, rows, provenance):
            return SaveResult(existing, "unchanged")
        is_new = existing is None or id(existing) in self._new_holdings
        values = dict(record.columns)
        values["deleted"] = False
        values["datestamp"] = self._now()
        if provenance is not None:
            values["origin_base_url"] = provenance.base_url
            values["origin_identifier"] = provenance.identifier
            values["origin_datestamp"] = provenance.datestamp
        if existing is None:
            values.update(library_id=library.id, local_id=local_id, created=values["datestamp"])
            values.setdefault("origin_base_url", None)
            values.setdefault("origin_identifier", None)
            values.setdefault("origin_datestamp", None)
            target = _unloaded_record(values)
            self._new.append(target)
            self._known[(library.id, local_id)] = target
            self._new_holdings[id(target)] = rows
            self._new_extras[id(target)] = record.extras
            return SaveResult(target, "created")
        target = existing
        for key, value in values.items():
            setattr(target, key, value)
        if is_new:  # saved twice before the flush: still one INSERT
            self._new_holdings[id(target)] = rows
            self._new_extras[id(target)] = record.extras
            return SaveResult(target, "created")
        self._extras[target.id] = record.extras
        self._deleted.discard(target.id)  # deleted, then saved again before the flush: live
        target.holdings = [
            Holding(library_id=library.id, call_number=c, barcode=b, location=loc, status=s)
            for c, b, loc, s in rows
        ]
        self._pending.append(target)
        return SaveResult(target, "updated")

    def delete(self, record: Record) -> bool:
        """Mark ``record`` deleted (kept for OAI); False when it already was."""
        if record.deleted:
            return False
        record.deleted = True
        record.datestamp = self._now()
        if id(record) not in self._new_holdings:  # new records are sorted out at flush
            self._deleted.add(record.id)
            self._changed.discard(record.id)
        return True

    def flush(self) -> tuple[list[int], list[int]]:
        """Flush the session and run the ``after_write`` hooks; returns (changed, deleted) ids."""
        self._insert_new()
        self.session.flush()
        self._known.clear()
        self._stamp = None
        for rec in self._pending:
            if rec.id not in self._deleted:
                self._changed.add(rec.id)
        self._pending.clear()
        changed, deleted = sorted(self._changed), sorted(self._deleted)
        self._changed.clear()
        self._deleted.clear()
        extras, self._extras = self._extras, {}
        created, self._created = self._created, {}
        if changed or deleted:
            info = self.session.info
            info[EXTRAS_INFO_KEY] = extras
            info[CREATED_INFO_KEY] = created
            try:
                for hook in self.after_write:
                    hook(self.session, changed, deleted)
            finally:
                info.pop(EXTRAS_INFO_KEY, None)
                info.pop(CREATED_INFO_KEY, None)
        return changed, deleted

    def _insert_new(self) -> None:
        """Write the new records and their holdings with one multi-row INSERT each.

        The ORM's unit of work costs far more per object than the database does; new records
        need none of it. Once written, each record is attached to the session as if it had
        been loaded, so callers keep using the objects :meth:`save` returned.
        """
        if not self._new:
            return
        table = Record.__table__
        columns = [c.key for c in table.columns if c.key != "id"]
        # The records' own dicts: their values were put there without the ORM's events
        # (see _unloaded_record), and reading them back through it cost more per record.
        values = [rec.__dict__ for rec in self._new]
        rows = [{key: v.get(key) for key in columns} for v in values]
        with self.session.no_autoflush:

            def read_back() -> list[int]:
                # By (library, local id), which is unique: INSERT … RETURNING in parameter
                # order ran one statement per row on SQLite.
                by_key: dict[tuple[int, str], int] = {}
                wanted: dict[int, list[str]] = {}
                for v in values:
                    wanted.setdefault(v["library_id"], []).append(v["local_id"])
                for library_id, local_ids in wanted.items():
                    for start in range(0, len(local_ids), 500):
                        chunk = local_ids[start : start + 500]
                        for new_id, local_id in self.session.execute(
                            select(table.c.id, table.c.local_id).where(
                                table.c.library_id == library_id,
                                any_of(self.session, table.c.local_id, chunk),
                            )
                        ):
                            by_key[(library_id, local_id)] = new_id
                return [by_key[(v["library_id"], v["local_id"])] for v in values]

            ids = inserted_ids(self.session, table, rows, read_back)
        holding_rows = []
        created = self._created
        for rec, v, new_id in zip(self._new, values, ids, strict=True):
            v["id"] = new_id
            library_id = v["library_id"]
            created[new_id] = library_id
            for c, b, loc, s in self._new_holdings.get(id(rec), ()):
                holding_rows.append(
                    {"record_id": new_id, "library_id": library_id, "call_number": c,
                     "barcode": b, "location": loc, "status": s}
                )  # fmt: skip
            if self.attach_new:
                make_transient_to_detached(rec)
                self.session.add(rec)
            if v["deleted"]:
                self._deleted.add(new_id)
            else:
                self._changed.add(new_id)
                made = self._new_extras.get(id(rec))
                if made:
                    self._extras[new_id] = made
        if holding_rows:
            insert_rows(self.session, Holding.__table__, holding_rows)
        self._new.clear()
        self._new_holdings.clear()
        self._new_extras.clear()

    def _unchanged(
        self,
        existing: Record,
        marc_bytes: bytes,
        rows: list[HoldingRow],
        provenance: Provenance | None,
    ) -> bool:
        if existing.deleted or existing.marc != marc_bytes:
            return False
        if provenance is not None and (
            existing.origin_identifier != provenance.identifier
            or existing.origin_datestamp != provenance.datestamp
            or existing.origin_base_url != provenance.base_url
        ):
            return False
        if id(existing) in self._new_holdings:
            return self._new_holdings[id(existing)] == rows
        current = [(h.call_number, h.barcode, h.location, h.status) for h in existing.holdings]
        return current == rows


def _columns(record: pymarc.Record, data: Extracted, marc_bytes: bytes) -> dict[str, object]:
    """The record row's columns that come from the MARC record."""
    return {
        "marc": marc_bytes,
        # the leader as stored (lengths and base address as written), not as read
        "leader": marc_bytes[:24].decode("ascii", "replace"),
        "control_number": data.control_number[:64] or None,
        "control_org": data.control_org[:64] or None,
        "title": data.title,
        "authors": "\n".join(data.authors),
        "year": data.year,
        "isbns": " ".join(data.isbns),
        "issns": " ".join(data.issns),
        "publisher": data.publisher,
        "language": data.language[:3],
        "material_type": data.material_type[:2],
    }


_new_instance = Record.__mapper__.class_manager.new_instance


def _unloaded_record(values: dict[str, object]) -> Record:
    """A :class:`Record` holding ``values``, made without the ORM's attribute events.

    A new record is written by :meth:`RecordStore._insert_new` with one multi-row INSERT
    and then attached as loaded; the ORM's per-attribute bookkeeping in ``Record(...)``
    (two dozen instrumented sets) cost more than the INSERT itself.
    """
    record = _new_instance()
    record.__dict__.update(values)
    return record
