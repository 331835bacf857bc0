"""Importing MARC files into a library's catalogue: streaming, matching, overlay, revert.

:func:`run_import` reads a file with :class:`marc.reader.MarcReader` (any format, any
encoding, one record at a time), matches each record against the library's records
(:mod:`libext.matching`), and writes through :class:`libext.store.RecordStore` in batched
transactions. Each transaction holds a chunk of records *and* their
:class:`~libext.models.ImportOutcome` rows *and* the batch's progress, so a crash or
``kill -9`` loses at most the chunk in flight and never leaves a record without its outcome.
Running the same file again resumes the interrupted batch after its last committed record;
running it after it finished changes nothing (every record matches itself, unchanged).

Invariant of every report: ``read == created + updated + skipped + rejected`` (a deletion
counts as an update and is also counted in ``deleted``).

:func:`import_file` is the plain entry point the demo loader uses.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO

import pymarc
from sqlalchemy import select
from sqlalchemy.orm import Session

from libext.bulk import insert_rows
from libext.db import BULK_SQLITE_CACHE_MB, capped_sqlite_cache
from libext.matching import DEFAULT_RULES, KEY_RULES, Keys, Matcher, keys_of, parse_rules
from libext.models import Holding, ImportBatch, ImportOutcome, Library, Record, utcnow
from libext.store import (
    Prepared,
    Preparer,
    RecordStore,
    prepare,
    prepare_extracted,
)
from libext.workers import ordered_map
from marc.errors import MarcError, RecordTooLarge, UnusableInput
from marc.extract import HoldingData, holdings_from_record
from marc.pickling import flat_pickle
from marc.reader import Decoded, MarcReader, ReadResult, decode_iso2709, finish
from marc.writer import record_to_iso2709

ON_MATCH = ("replace", "merge", "skip", "always-new")
#: Errors kept in a report in memory (all are in the database and the rejects download).
MAX_REPORTED_ERRORS = 10_000
#: Rejects and per-record warnings a batch keeps in its summary (see ImportReport.stored_summary).
STORED_ERRORS = 200
EXAMPLES = 5

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class _Outcome:
    """What became of one record: an :class:`ImportOutcome` row to be.

    Kept as a plain object and written with one multi-row Core INSERT per transaction:
    an ORM object per record, with its instrumented attributes, cost more than the write.
    """

    ordinal: int
    offset: int | None
    control_number: str | None
    title: str
    action: str = ""
    record_id: int | None = None
    reason: str = ""
    matched_by: str = ""
    previous_marc: bytes | None = None
    previous_deleted: bool | None = None
    previous_holdings: str | None = None
    raw: bytes | None = None


_OUTCOME_COLUMNS = tuple(f.name for f in fields(_Outcome))
_outcome_values = attrgetter(*_OUTCOME_COLUMNS)
_OUTCOME_TEXTS = ("control_number", "title", "reason", "matched_by")


class ImportOptionError(ValueError):
    """Raised for unusable import options (unknown action, match rule, format, encoding)."""


@dataclass
class ImportOptions:
    """How to import: format and encoding (``auto`` detects), match rules, what to do on a
    match, dry run, transaction size, who asked."""

    format: str = "auto"
    encoding: str = "auto"
    match: tuple[str, ...] = DEFAULT_RULES
    on_match: str = "replace"
    dry_run: bool = False
    batch_size: int = 500
    user: str = ""
    #: Keep a matched record that is deleted deleted (count it skipped) instead of reviving it.
    skip_deleted: bool = False
    #: Worker processes that read records while this one writes (see :mod:`libext.workers`).
    workers: int = 0
    #: SQLite page cache while importing, MB: bounds the import's memory whatever the file's
    #: size (see :func:`libext.db.capped_sqlite_cache`); 0 leaves the connection's own.
    sqlite_cache_mb: int = BULK_SQLITE_CACHE_MB

    def __post_init__(self) -> None:
        if self.on_match not in ON_MATCH:
            raise ImportOptionError(
                f"unknown on-match action {self.on_match!r}; use one of {', '.join(ON_MATCH)}"
            )
        try:
            self.match = parse_rules(self.match)
        except ValueError as exc:
            raise ImportOptionError(str(exc)) from exc
        self.batch_size = max(1, int(self.batch_size))


@dataclass
class ImportError_:
    """One rejected (or otherwise reported) record: where it is and why."""

    ordinal: int
    offset: int | None
    control_number: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "ordinal": self.ordinal,
            "offset": self.offset,
            "control_number": self.control_number,
            "reason": self.reason,
        }


@dataclass
class ImportReport:
    """The report of one batch. Invariant: read = created + updated + skipped + rejected."""

    batch: int | None = None
    library: str = ""
    filename: str = ""
    format: str = ""
    dry_run: bool = False
    status: str = "done"
    read: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    deleted: int = 0
    errors: list[ImportError_] = field(default_factory=list)
    errors_truncated: bool = False
    warnings: int = 0
    #: Per-record warnings (a leader/09 that lied, repaired lengths...), up to the error cap.
    record_warnings: list[dict[str, object]] = field(default_factory=list)
    suggested_encoding: str | None = None
    message: str = ""
    examples: dict[str, list[dict[str, object]]] = field(default_factory=dict)

    def note(self, action: str, example: dict[str, object]) -> None:
        """Count one outcome and keep it as an example when there are few so far."""
        counter = "updated" if action == "deleted" else action
        setattr(self, counter, getattr(self, counter) + 1)
        if action == "deleted":
            self.deleted += 1
        bucket = self.examples.setdefault(action, [])
        if len(bucket) < EXAMPLES:
            bucket.append(example)

    def add_error(self, error: ImportError_) -> None:
        """Keep an error for the report (up to :data:`MAX_REPORTED_ERRORS`)."""
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)
        else:
            self.errors_truncated = True

    def add_warnings(self, result: ReadResult) -> None:
        """Keep a record's warnings for the report (up to :data:`MAX_REPORTED_ERRORS`)."""
        if len(self.record_warnings) < MAX_REPORTED_ERRORS:
            self.record_warnings.append(
                {
                    "ordinal": result.ordinal,
                    "offset": result.offset,
                    "control_number": result.control_number,
                    "warnings": list(result.warnings),
                }
            )

    def stored_summary(self) -> str:
        """What a batch keeps of the report beside its counts (``ImportBatch.summary``): the
        examples, the first rejects (all are in the outcomes once the batch has run) and the
        warnings (kept nowhere else), as JSON."""
        return json.dumps(
            {
                "examples": self.examples,
                "errors": [e.to_dict() for e in self.errors[:STORED_ERRORS]],
                "warnings": self.warnings,
                "record_warnings": self.record_warnings[:STORED_ERRORS],
            },
            ensure_ascii=False,
        )

    def to_dict(self) -> dict[str, object]:
        """The report as the CLI's ``--json`` and the API print it."""
        return {
            "batch": self.batch,
            "library": self.library,
            "file": self.filename,
            "format": self.format,
            "dry_run": self.dry_run,
            "status": self.status,
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "deleted": self.deleted,
            "warnings": self.warnings,
            "record_warnings": self.record_warnings,
            "suggested_encoding": self.suggested_encoding,
            "message": self.message,
            "errors": [e.to_dict() for e in self.errors],
            "errors_truncated": self.errors_truncated,
            "examples": self.examples,
        }


# Kept under the name the first loader used.
ImportSummary = ImportReport


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file (identifies "the same file" for resuming an interrupted batch)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Counting(io.RawIOBase):
    """Counts the bytes read from a file, for the progress bar."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0
        self.name = getattr(raw, "name", "<stream>")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def _is_local(tag: str) -> bool:
    # MARC 21 leaves 09X, 59X, 69X, 9XX (any tag with a 9 in the first or second place)
    # to local use; merge keeps the library's own.
    return tag.isdigit() and (tag[0] == "9" or tag[1] == "9")


def _holding_rows(record: Record) -> list[list[str]]:
    return [[h.call_number, h.barcode, h.location, h.status] for h in record.holdings]


def _title(record: pymarc.Record | None) -> str:
    if record is None:
        return ""
    fld = record.get("245")
    if fld is None:
        return ""
    return " ".join(s.value for s in fld.subfields if s.code in "abnp" and s.value)[:500]


@flat_pickle
@dataclass(slots=True)
class _Read:
    """One record as read for the writer: the reader's result, and what the writer needs.

    The :class:`pymarc.Record` itself is dropped once prepared (``result.record`` is None):
    records cross from worker processes as this plain data.
    """

    result: ReadResult
    title: str = ""
    keys: Keys | None = None
    prepared: Prepared | None = None


ChunkTask = tuple[list[tuple[int, Decoded]], bool, tuple[tuple[str, Preparer], ...], bool]


def read_chunk(task: ChunkTask) -> list[_Read]:
    """Decode, validate and prepare a chunk of records cut by the reader (maybe in a worker);
    the task is (pieces, validate, the store's preparers, whether to keep the input bytes of
    records that read well: a merge may still reject one)."""
    pieces, validate, preparers, keep_raw = task
    out = []
    for ordinal, item in pieces:
        result = finish(ordinal, item, validate)
        read = _Read(result, _title(result.record))
        if result.ok and result.record is not None:
            read.prepared, data = prepare_extracted(
                result.record, result.marc, normalized=result.normalized, preparers=preparers
            )
            read.keys = keys_of(result.record, data)
            # The writer needs neither the pymarc record nor, for a record that went in, the
            # input bytes (kept for rejects only): they would only cost pickling.
            result.record = None
            if not keep_raw:
                result.raw = b""
        out.append(read)
    return out


class _DryRunPlan:
    """What a dry run would have written, for the later records of its file to be matched
    against as the real run matches them against the records it wrote (a file that holds a
    record twice, or a record and then its update or deletion).

    Kept in a temporary SQLite file, not in memory (a dry run of a big file must not grow)
    and not in the library's database (a dry run writes nothing there). The records it
    hands out are unsaved :class:`Record` objects, one per local id within a chunk, changed
    in place as the plan changes, as the real run changes its loaded records.
    """

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="libext-dry-run-")
        self._db = sqlite3.connect(Path(self._folder.name) / "plan.sqlite3")
        self._db.executescript(
            """
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            CREATE TABLE planned (
                local_id TEXT PRIMARY KEY, marc BLOB NOT NULL, holdings TEXT NOT NULL,
                control_number TEXT, control_org TEXT, deleted INTEGER NOT NULL,
                made INTEGER NOT NULL
            );
            CREATE TABLE planned_key (kind TEXT NOT NULL, value TEXT NOT NULL,
                                      local_id TEXT NOT NULL);
            CREATE INDEX planned_key_value ON planned_key (kind, value);
            CREATE INDEX planned_key_local ON planned_key (local_id);
            """
        )
        #: This chunk's records by local id (None: known not to be planned).
        self._records: dict[str, Record | None] = {}

    def new_chunk(self) -> None:
        """Forget the records handed out so far (the chunk that held them is done)."""
        self._records.clear()

    def find(self, local_id: str) -> Record | None:
        """The planned state of the record with ``local_id``, if the run planned one."""
        if local_id not in self._records:
            row = self._db.execute(
                "SELECT local_id, marc, holdings, control_number, control_org, deleted "
                "FROM planned WHERE local_id = ?",
                (local_id,),
            ).fetchone()
            self._records[local_id] = None if row is None else self._record(*row)
        return self._records[local_id]

    def lookup(self, kind: str, values: Sequence[str]) -> dict[str, list[Record]]:
        """Planned records by value, of those whose keys of ``kind`` hold one of ``values``."""
        found: dict[str, list[Record]] = {}
        rows = self._db.execute(
            "SELECT value, local_id FROM planned_key WHERE kind = ? "
            "AND value IN (SELECT value FROM json_each(?)) ORDER BY rowid",
            (kind, json.dumps(list(values))),
        )
        for value, local_id in rows.fetchall():
            record = self.find(local_id)
            if record is not None:
                found.setdefault(value, []).append(record)
        return found

    def made_here(self, local_id: str) -> bool:
        """Whether the run planned the record with ``local_id`` as new."""
        row = self._db.execute(
            "SELECT made FROM planned WHERE local_id = ?", (local_id,)
        ).fetchone()
        return bool(row and row[0])

    def put(
        self,
        local_id: str,
        prepared: Prepared,
        keys: Keys | None,
        *,
        deleted: bool = False,
        made: bool = False,
    ) -> Record:
        """Plan ``local_id`` as ``prepared`` (``keys`` None: its keys stay as planned);
        ``made``: the run creates it (a record it created stays so when changed again)."""
        columns = prepared.columns
        holdings = [list(row) for row in prepared.holdings]
        values = (
            prepared.marc,
            json.dumps(holdings, ensure_ascii=False),
            columns.get("control_number"),
            columns.get("control_org"),
            int(deleted),
        )
        self._db.execute(
            "INSERT INTO planned VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (local_id) DO UPDATE "
            "SET marc = excluded.marc, holdings = excluded.holdings, "
            "control_number = excluded.control_number, control_org = excluded.control_org, "
            "deleted = excluded.deleted, made = planned.made OR excluded.made",
            (local_id, *values, int(made)),
        )
        if keys is not None:
            self._db.execute("DELETE FROM planned_key WHERE local_id = ?", (local_id,))
            self._db.executemany(
                "INSERT INTO planned_key VALUES (?, ?, ?)",
                [(kind, value, local_id) for kind in KEY_RULES for value in keys.by_rule(kind)],
            )
        record = self._records.get(local_id)
        if record is None:
            record = self._record(local_id, *values)
            self._records[local_id] = record
        else:  # the object later records of this chunk were handed: changed in place
            record.marc, record.control_number, record.control_org = values[0], *values[2:4]
            record.deleted = deleted
            record.holdings = [_holding(row) for row in holdings]
        return record

    @staticmethod
    def _record(
        local_id: str, marc: bytes, holdings: str, number: str | None, org: str | None, deleted: int
    ) -> Record:
        return Record(
            local_id=local_id,
            marc=marc,
            control_number=number,
            control_org=org,
            deleted=bool(deleted),
            holdings=[_holding(row) for row in json.loads(holdings)],
        )

    def close(self) -> None:
        """Remove the temporary file."""
        self._db.close()
        self._folder.cleanup()


def _holding(row: Sequence[str]) -> Holding:
    call_number, barcode, location, status = row
    return Holding(call_number=call_number, barcode=barcode, location=location, status=status)


class Importer:
    """One import run of one file for one library (see the module docstring)."""

    def __init__(
        self,
        store: RecordStore,
        library: Library,
        options: ImportOptions,
        progress: Progress | None = None,
    ) -> None:
        self.store = store
        self.session: Session = store.session
        self.library = library
        self.options = options
        self.progress = progress
        store.attach_new = False  # records written are only referred to by id afterwards
        #: A dry run's plan of what it would have written (see _DryRunPlan).
        self.plan = _DryRunPlan() if options.dry_run else None
        self.matcher = Matcher(store, library, options.match, planned=self.plan)
        self.report = ImportReport(library=library.code, dry_run=options.dry_run)
        self.batch: ImportBatch | None = None

    # -- running -------------------------------------------------------------------------------
    def run(self, path: str | os.PathLike[str], filename: str | None = None) -> ImportReport:
        """Import the file at ``path``; returns the report (also stored on the batch)."""
        try:
            return self._run(path, filename)
        finally:
            if self.plan is not None:
                self.plan.close()

    def _run(self, path: str | os.PathLike[str], filename: str | None) -> ImportReport:
        path = Path(path)
        report = self.report
        report.filename = filename or path.name
        size = path.stat().st_size if path.exists() else 0
        counting = _Counting(open(path, "rb")) if path.exists() else None  # noqa: SIM115
        reader = MarcReader(
            io.BufferedReader(counting) if counting else path,
            format=self.options.format,
            encoding=self.options.encoding,
        )
        report.format = reader.format
        start_after = 0
        if not self.options.dry_run:
            start_after = self._open_batch(path, report.filename, reader.format)
            self.matcher.batch_id = self.batch.id  # type: ignore[union-attr]
        batch_size = self.options.batch_size

        def chunks() -> Iterator[tuple[list[tuple[int, Decoded]], bool]]:
            chunk: list[tuple[int, Decoded]] = []
            preparers = tuple(self.store.preparers)
            keep_raw = self.options.on_match == "merge"
            try:
                for ordinal, item in reader.pieces(deferred=self.options.workers > 0):
                    if ordinal <= start_after:
                        continue
                    chunk.append((ordinal, item))
                    if len(chunk) >= batch_size:
                        yield chunk, reader.validate, preparers, keep_raw
                        chunk = []
            except MarcError:
                # The file became unreadable part-way (a damaged gzip stream): the records
                # read before that point still go in, then the import stops.
                if chunk:
                    yield chunk, reader.validate, preparers, keep_raw
                raise
            if chunk:
                yield chunk, reader.validate, preparers, keep_raw

        try:
            for reads in ordered_map(read_chunk, chunks(), self.options.workers):
                for read in reads:
                    reader.note(read.result)
                self._process(reads)
                if self.progress and counting:
                    self.progress(counting.count, size)
        except MarcError as exc:  # the file became unreadable part-way (or from the start)
            report.status = "failed"
            report.message = str(exc)
            if self.batch is not None:
                if report.read:
                    report.message += (
                        f". Batch {self.batch.id} keeps what the records before that point did "
                        f"(created {report.created:,}, updated {report.updated:,}, rejected "
                        f"{report.rejected:,}): check them, or revert the batch"
                    )
                self.batch.status = "failed"
                self.batch.message = report.message
                self.batch.summary = report.stored_summary()
                self.session.commit()
            if report.message == str(exc):
                raise
            raise UnusableInput(report.message) from exc
        if self.progress and counting:
            self.progress(size, size)
        if reader.suggestions:
            name, _count = reader.suggestions.most_common(1)[0]
            report.suggested_encoding = name
            report.message = (
                f"{reader.suggestions[name]} record(s) look like {name}: "
                f"import again with --encoding {name}"
            )
        if self.batch is not None:
            self.batch.status = "done"
            self.batch.finished = utcnow()
            self.batch.message = report.message
            self.batch.summary = report.stored_summary()
            self.session.commit()
            report.batch = self.batch.id
        report.status = "dry-run" if self.options.dry_run else "done"
        return report

    def _open_batch(self, path: Path, filename: str, fmt: str) -> int:
        """Create the batch, or resume one this file left running; returns the last ordinal
        already committed."""
        digest = file_digest(path)
        opts = self.options
        resumable = self.session.scalar(
            select(ImportBatch)
            .where(
                ImportBatch.library_id == self.library.id,
                ImportBatch.file_sha256 == digest,
                ImportBatch.status == "running",
                ImportBatch.encoding == opts.encoding,
                ImportBatch.match_rules == ",".join(opts.match),
                ImportBatch.on_match == opts.on_match,
            )
            .order_by(ImportBatch.id.desc())
        )
        if resumable is not None:
            self.batch = resumable
            report = self.report
            report.read = resumable.read
            report.created = resumable.created_count
            report.updated = resumable.updated
            report.skipped = resumable.skipped
            report.rejected = resumable.rejected
            report.deleted = resumable.deleted
            # What the killed run kept of its report (written with each chunk it committed).
            kept = json.loads(resumable.summary) if resumable.summary else {}
            report.examples = kept.get("examples", {})
            report.warnings = kept.get("warnings", 0)
            report.record_warnings = kept.get("record_warnings", [])
            for row in self.session.scalars(
                select(ImportOutcome)
                .where(ImportOutcome.batch_id == resumable.id, ImportOutcome.action == "rejected")
                .order_by(ImportOutcome.ordinal)
                .limit(MAX_REPORTED_ERRORS)
            ):
                report.errors.append(
                    ImportError_(row.ordinal, row.offset, row.control_number, row.reason)
                )
            return resumable.last_ordinal
        self.batch = ImportBatch(
            library_id=self.library.id,
            filename=filename[:512],
            file_sha256=digest,
            format=fmt,
            encoding=opts.encoding,
            match_rules=",".join(opts.match),
            on_match=opts.on_match,
            status="running",
            user=opts.user[:255],
        )
        self.session.add(self.batch)
        self.session.commit()
        return 0

    # -- one transaction -------------------------------------------------------------------
    def _process(self, chunk: list[_Read]) -> None:
        with capped_sqlite_cache(self.session, self.options.sqlite_cache_mb):
            self._write(chunk)
        if self.options.dry_run:
            self.session.rollback()
        else:
            self.session.commit()

    def _write(self, chunk: list[_Read]) -> None:
        """One chunk's writes, up to (not including) its commit."""
        if self.plan is not None:
            self.plan.new_chunk()
        self.matcher.prepare(read.keys for read in chunk if read.keys is not None)
        outcomes: list[tuple[_Outcome, Record | None]] = []
        for read in chunk:
            outcome, target = self._one(read)
            outcomes.append((outcome, target))
            self.report.warnings += len(read.result.warnings)
        if self.options.dry_run:
            return
        self.store.flush()
        assert self.batch is not None
        rows = []
        batch_id = self.batch.id
        for outcome, target in outcomes:
            if target is not None:
                outcome.record_id = target.id
            row = dict(zip(_OUTCOME_COLUMNS, _outcome_values(outcome), strict=True))
            if outcome.action == "rejected":
                for name in _OUTCOME_TEXTS:
                    # A rejected record's text was never cleaned: a NUL in it (PostgreSQL
                    # text cannot hold one) must not cost the chunk's other records.
                    if row[name] and "\x00" in row[name]:
                        row[name] = row[name].replace("\x00", "")
            row["batch_id"] = batch_id
            rows.append(row)
        # one multi-row INSERT instead of an ORM object per record
        insert_rows(self.session, ImportOutcome.__table__, rows)
        batch, report = self.batch, self.report
        batch.last_ordinal = chunk[-1].result.ordinal
        batch.read = report.read
        batch.created_count = report.created
        batch.updated = report.updated
        batch.skipped = report.skipped
        batch.rejected = report.rejected
        batch.deleted = report.deleted
        batch.summary = report.stored_summary()

    def _one(self, read: _Read) -> tuple[_Outcome, Record | None]:
        report = self.report
        report.read += 1
        result, keys, prepared = read.result, read.keys, read.prepared
        outcome = _Outcome(
            ordinal=result.ordinal,
            offset=result.offset,
            control_number=(result.control_number or "")[:64] or None,
            title=read.title,
            reason="",
            matched_by="",
        )
        if result.warnings:
            report.add_warnings(result)
        example: dict[str, object] = {
            "ordinal": result.ordinal,
            "control_number": outcome.control_number,
            "title": outcome.title,
        }
        if prepared is None or keys is None:
            reason = result.reason or "record could not be read"
            if result.line is not None and "line" not in reason:
                reason += f" (record at line {result.line})"  # for MARCXML, easier to find
            return self._reject(read, outcome, example, reason)
        match = self.matcher.match(keys)
        if match is not None:
            outcome.matched_by = match.rule
            example["matched_by"] = match.rule
        if result.deleted:
            return self._deletion(outcome, example, match)
        opts = self.options
        if match is None or opts.on_match == "always-new":
            return self._create(result.ordinal, prepared, keys, outcome, example)
        existing = match.record
        if opts.on_match == "skip" or (opts.skip_deleted and existing.deleted):
            why = "record is deleted here" if existing.deleted else "on-match is skip"
            outcome.action = "skipped"
            outcome.reason = f"matched by {match.rule}; {why}"
            outcome.record_id = existing.id
            report.note("skipped", {**example, "reason": outcome.reason})
            return outcome, None
        if opts.on_match == "merge":
            try:
                prepared = self._merged(prepared, existing)
            except RecordTooLarge as exc:
                reason = (
                    f"merged with the library's record {existing.local_id}, it would be too "
                    f"large for ISO 2709 ({exc}); import it with on-match replace, or shorten it"
                )
                return self._reject(read, outcome, example, reason)
        outcome.previous_marc = existing.marc
        outcome.previous_deleted = existing.deleted
        outcome.previous_holdings = json.dumps(_holding_rows(existing), ensure_ascii=False)
        if match.note:
            outcome.reason = match.note
        if opts.dry_run:
            same = (
                existing.marc == prepared.marc
                and not existing.deleted
                and _holding_rows(existing) == [list(row) for row in prepared.holdings]
            )
            action = "skipped" if same else "updated"
            if same:
                outcome.reason = "unchanged"
            else:
                planned = self.plan.put(existing.local_id, prepared, keys)  # type: ignore[union-attr]
                self.matcher.rekey(existing, keys, planned)
            report.note(action, {**example, "reason": outcome.reason})
            outcome.action = action
            return outcome, None
        saved = self.store.save(self.library, prepared, existing=existing)
        if saved.action == "unchanged":
            outcome.action, outcome.reason = "skipped", "unchanged"
            outcome.previous_marc = outcome.previous_holdings = None
            report.note("skipped", {**example, "reason": "unchanged"})
            return outcome, saved.record
        outcome.action = "updated"
        report.note("updated", example)
        self.matcher.rekey(existing, keys)
        return outcome, saved.record

    def _reject(
        self, read: _Read, outcome: _Outcome, example: dict[str, object], reason: str
    ) -> tuple[_Outcome, None]:
        """Count ``read`` as rejected for ``reason``, keeping its input bytes for the
        rejects file."""
        result = read.result
        outcome.action, outcome.reason, outcome.raw = "rejected", reason, result.raw
        self.report.add_error(
            ImportError_(result.ordinal, result.offset, result.control_number, reason)
        )
        self.report.note("rejected", {**example, "reason": reason})
        return outcome, None

    def _create(
        self,
        ordinal: int,
        prepared: Prepared,
        keys: Keys,
        outcome: _Outcome,
        example: dict[str, object],
    ) -> tuple[_Outcome, Record | None]:
        local_id = keys.control_number[:255] or None
        taken = False
        if local_id is not None:
            taken = (
                self.plan is not None and self.plan.find(local_id) is not None
            ) or self.store.find(self.library, local_id) is not None
        if taken or (local_id is None and self.options.on_match == "always-new"):
            # The 001 is used by a record this import must not overlay (another rule set,
            # another 003, or always-new): keep both, the new one under a derived id.
            base = local_id or "record"
            local_id = f"{base}~{self.batch.id if self.batch else 0}.{ordinal}"
        if self.plan is not None:
            # Without a 001 the store takes the record's own local id (a hash of it): the
            # same record met again is saved over the first, as an update.
            planned_id = local_id or prepared.local_id
            again = local_id is None and (
                self.plan.find(planned_id) is not None
                or self.store.find(self.library, planned_id) is not None
            )
            self.matcher.remember(keys, self.plan.put(planned_id, prepared, keys, made=not again))
            outcome.action = "updated" if again else "created"
            self.report.note(outcome.action, example)
            return outcome, None
        saved = self.store.save(self.library, prepared, local_id=local_id)
        self.matcher.remember(keys, saved.record)
        outcome.action = "created" if saved.action == "created" else "updated"
        self.report.note(outcome.action, example)
        return outcome, saved.record

    def _deletion(
        self, outcome: _Outcome, example: dict[str, object], match: Any
    ) -> tuple[_Outcome, Record | None]:
        report = self.report
        if match is None or match.record.deleted:
            outcome.action = "skipped"
            outcome.reason = (
                "deletion of a record that is already deleted"
                if match is not None
                else "deletion of a record not in this library's catalogue"
            )
            report.note("skipped", {**example, "reason": outcome.reason})
            return outcome, None
        existing = match.record
        outcome.action = "deleted"
        outcome.previous_marc = existing.marc
        outcome.previous_deleted = False
        outcome.previous_holdings = json.dumps(_holding_rows(existing), ensure_ascii=False)
        report.note("deleted", example)
        if self.plan is None:
            self.store.delete(existing)
        else:
            columns = {
                "marc": existing.marc,
                "control_number": existing.control_number,
                "control_org": existing.control_org,
            }
            rows = [tuple(row) for row in _holding_rows(existing)]
            state = Prepared(columns, existing.local_id, rows)  # type: ignore[arg-type]
            self.plan.put(existing.local_id, state, None, deleted=True)
        return outcome, existing

    def _merged(self, prepared: Prepared, existing: Record) -> Prepared:
        """Incoming bibliographic fields + the library's own local fields and holdings."""
        incoming = decode_iso2709(prepared.marc, forced="utf-8").record
        assert incoming is not None  # bytes the reader itself wrote
        current = decode_iso2709(existing.marc, forced="utf-8").record
        merged = pymarc.Record(force_utf8=True)
        merged.leader = incoming.leader
        kept = [f for f in incoming.fields if not _is_local(f.tag) and f.tag != "852"]
        local = (
            []
            if current is None
            else [f for f in current.fields if _is_local(f.tag) or f.tag == "852"]
        )
        seen = {str(f) for f in local}
        extra = [
            f
            for f in incoming.fields
            if (_is_local(f.tag) or f.tag == "852") and str(f) not in seen
        ]
        merged.fields = kept + local + extra  # type: ignore[assignment]
        holdings = [
            HoldingData(h.call_number, h.barcode, h.location, h.status) for h in existing.holdings
        ]
        have = {(h.call_number, h.barcode, h.location) for h in holdings}
        for h in holdings_from_record(incoming):
            if (h.call_number, h.barcode, h.location) not in have:
                holdings.append(h)
        return prepare(merged, record_to_iso2709(merged), holdings, preparers=self.store.preparers)


def run_import(
    store: RecordStore,
    library: Library,
    path: str | os.PathLike[str],
    options: ImportOptions | None = None,
    *,
    filename: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file for ``library``; see :class:`Importer`. Raises
    :class:`marc.errors.UnusableInput` when the file cannot be read at all."""
    return Importer(store, library, options or ImportOptions(), progress).run(path, filename)


def import_file(
    store: RecordStore,
    library: Library,
    path: str | Path,
    *,
    skip_deleted: bool = False,
    batch_size: int = 500,
    **options: Any,
) -> ImportReport:
    """Store every record of a MARC file for ``library`` (the demo loader's entry point).

    With ``skip_deleted`` a record whose stored match was deleted stays deleted (counted as
    skipped) instead of coming back. Other keyword arguments are :class:`ImportOptions`.
    """
    opts = ImportOptions(skip_deleted=skip_deleted, batch_size=batch_size, **options)
    return run_import(store, library, path, opts)


# -- revert ----------------------------------------------------------------------------------
class RevertError(ValueError):
    """Raised when a batch cannot be reverted (not finished, already reverted, dry run)."""


@dataclass
class RevertReport:
    """What a revert did."""

    batch: int
    removed: int = 0
    restored: int = 0
    untouched: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "batch": self.batch,
            "status": "reverted",
            "removed": self.removed,
            "restored": self.restored,
            "untouched": self.untouched,
        }


def revert_batch(store: RecordStore, batch: ImportBatch, chunk_size: int = 500) -> RevertReport:
    """Undo a batch: records it created are withdrawn (kept as OAI deletions, gone from
    search), records it overlaid or deleted get back their previous MARC, holdings and
    status. Committed in one transaction."""
    if batch.status == "reverted":
        raise RevertError(f"batch {batch.id} was already reverted")
    if batch.status not in ("done", "running", "failed"):
        raise RevertError(
            f"batch {batch.id} is {batch.status}; only imports that ran can be reverted"
        )
    session = store.session
    report = RevertReport(batch=batch.id)
    library = batch.library
    outcomes = session.scalars(
        select(ImportOutcome)
        .where(
            ImportOutcome.batch_id == batch.id,
            ImportOutcome.action.in_(("created", "updated", "deleted")),
        )
        .order_by(ImportOutcome.ordinal.desc())
    ).all()
    for index, outcome in enumerate(outcomes, start=1):
        record = session.get(Record, outcome.record_id) if outcome.record_id else None
        if record is None:
            report.untouched += 1
            continue
        if outcome.action == "created":
            if store.delete(record):
                report.removed += 1
            else:
                report.untouched += 1
        elif outcome.previous_marc is not None:
            previous = decode_iso2709(outcome.previous_marc, forced="utf-8").record
            if previous is None:
                report.untouched += 1
                continue
            rows = json.loads(outcome.previous_holdings or "[]")
            holdings = [HoldingData(c, b, loc, s) for c, b, loc, s in rows]
            store.save(
                library,
                previous,
                marc_bytes=outcome.previous_marc,
                existing=record,
                holdings=holdings,
            )
            if outcome.previous_deleted:
                store.delete(record)
            report.restored += 1
        if index % chunk_size == 0:
            store.flush()
    store.flush()
    batch.status = "reverted"
    batch.reverted = utcnow()
    session.commit()
    return report


def rejects(session: Session, batch: ImportBatch) -> Iterator[bytes]:
    """The rejected records' raw bytes as one file in the batch's input format."""
    rows = session.execute(
        select(ImportOutcome.raw)
        .where(ImportOutcome.batch_id == batch.id, ImportOutcome.action == "rejected")
        .order_by(ImportOutcome.ordinal)
        .execution_options(yield_per=500)
    )
    fmt = batch.format
    if fmt == "marcxml":
        yield b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
    elif fmt == "json":
        yield b"["
    first = True
    for (raw,) in rows:
        if raw is None:
            continue
        if fmt == "json" and not first:
            yield b",\n"
        elif fmt == "mrk" and not first:
            yield b"\n"
        first = False
        yield raw
        if fmt == "marcxml":
            yield b"\n"
    if fmt == "marcxml":
        yield b"</collection>\n"
    elif fmt == "json":
        yield b"]\n"


REJECT_SUFFIX = {"iso2709": ".mrc", "marcxml": ".xml", "json": ".json", "mrk": ".mrk"}
