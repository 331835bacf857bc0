"""Harvest runs: OAI-PMH pages into the record store, resumable, incremental, in parallel.

The page loop and the client live in :mod:`oai.harvest`; this module is the store side:

* :class:`StoreSink` writes each page through the store's one record path (keyed by library and
  OAI identifier, provenance kept, deletions marking records deleted) and saves the resumption
  token of the next page *in the same transaction*, so a process killed at any moment resumes
  from the last committed page and never loses or duplicates a record;
* :func:`harvest_source` decides where a run starts (saved token, high-water mark less the
  overlap, ``--from``/``--until``, ``--full``), keeps the run log, and moves the high-water mark
  only when a list was harvested to its end;
* :func:`harvest_sources` runs several sources in parallel threads (bounded); SQLite writes are
  serialised by one lock per database, so "database is locked" never reaches the user;
* :func:`sweep` follows repositories that keep no deletions: after a complete ``--full``
  harvest, harvested records the repository no longer lists are marked deleted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from libext.db import BULK_SQLITE_CACHE_MB, capped_sqlite_cache, get_db
from libext.models import HarvestRun, HarvestSeen, HarvestSource, Record, utcnow
from libext.store import Preparer, prepare
from libext.workers import ordered_map, worker_count
from marc.errors import MarcError
from oai.harvest import (
    HarvestError,
    HarvestPage,
    HarvestRequest,
    OAIClient,
    PageOutcome,
    RecordProblem,
    RetryPolicy,
    RunResult,
    run,
)
from oai.harvest.address import check_base_url
from oai.harvest.records import DC_NS, MARC_NS, parse_datestamp
from oai.harvest.runner import RawPage, read_page
from oai.source import Provenance

log = logging.getLogger(__name__)
T = TypeVar("T")

DAY = "YYYY-MM-DD"
#: Longest ``local_id`` the store keeps; longer OAI identifiers are shortened with a hash.
LOCAL_ID_MAX = 255
#: Attempts at a page write that met "database is locked" from another process.
LOCKED_RETRIES = 8

_locks_guard = threading.Lock()
_write_locks: dict[str, threading.Lock] = {}


def write_lock(session: Session) -> threading.Lock:
    """The lock serialising this process's harvest writes to one database.

    Sources are fetched in parallel, but their pages are written one at a time: SQLite has one
    writer at a time (threads queue here instead of meeting "database is locked"), and the
    hooks that follow every write (search clusters shared by books of several libraries) must
    not race each other on any engine. Other processes are waited for by the database.
    """
    key = str(session.get_bind().url)
    with _locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


def locked_write(session: Session, write: Callable[[], T]) -> T:
    """Run ``write`` (which commits) under the database's write lock.

    When another process holds SQLite beyond its busy timeout, the transaction is rolled
    back and tried again a few times, so "database is locked" does not end a harvest.
    """
    lock = write_lock(session)
    for attempt in range(1, LOCKED_RETRIES + 1):
        try:
            with lock:
                return write()
        except OperationalError as exc:
            session.rollback()
            if "locked" not in str(exc).lower() or attempt == LOCKED_RETRIES:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def local_id_for(identifier: str) -> str:
    """The store key of a harvested record: its OAI identifier (hashed when too long)."""
    if len(identifier) <= LOCAL_ID_MAX:
        return identifier
    digest = hashlib.sha1(identifier.encode()).hexdigest()
    return identifier[: LOCAL_ID_MAX - 41] + "#" + digest


def format_datestamp(value: datetime, granularity: str) -> str:
    """``value`` in the repository's granularity."""
    if granularity == DAY:
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def incremental_from(high_water: datetime, granularity: str, overlap_seconds: float) -> str:
    """The ``from`` of an incremental run: the high-water mark less a safety overlap.

    Day granularity overlaps by one day, as the harvester guidelines advise (records changed
    later on the day of the last run share its datestamp); second granularity by
    ``overlap_seconds`` (clock differences, changes committed during the last run).
    """
    if granularity == DAY:
        return format_datestamp(high_water - timedelta(days=1), granularity)
    return format_datestamp(high_water - timedelta(seconds=overlap_seconds), granularity)


def normalise_date_argument(text: str, granularity: str) -> str:
    """A ``--from``/``--until`` value checked and put in the source's granularity."""
    value = parse_datestamp(text)
    if value is None:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)")
    return format_datestamp(value, granularity)


def retry_policy(config: dict[str, Any] | Any) -> RetryPolicy:
    """The client's retry policy from the ``LIBEXT_HARVEST_*`` keys."""
    return RetryPolicy(
        max_attempts=int(config["LIBEXT_HARVEST_MAX_ATTEMPTS"]),
        backoff_base=float(config["LIBEXT_HARVEST_BACKOFF_BASE"]),
        backoff_max=float(config["LIBEXT_HARVEST_BACKOFF_MAX"]),
        retry_after_max=float(config["LIBEXT_HARVEST_RETRY_AFTER_MAX"]),
        retry_after_default=float(config["LIBEXT_HARVEST_RETRY_AFTER_DEFAULT"]),
        connect_timeout=float(config["LIBEXT_HARVEST_CONNECT_TIMEOUT"]),
        read_timeout=float(config["LIBEXT_HARVEST_READ_TIMEOUT"]),
        max_page_bytes=int(config["LIBEXT_HARVEST_MAX_PAGE_BYTES"]),
    )


def make_client(url: str, config: Any) -> OAIClient:
    """An OAI client for ``url`` configured from ``config``; redirects are checked too."""
    allowed = tuple(config.get("LIBEXT_HARVEST_ALLOWED_NETWORKS") or ())
    return OAIClient(
        url,
        retry_policy(config),
        contact=config.get("LIBEXT_HARVEST_CONTACT"),
        url_guard=lambda target: check_base_url(target, allowed),
    )


def read_harvest_page(raw: RawPage, preparers: Sequence[tuple[str, Preparer]] = ()) -> HarvestPage:
    """Read a fetched OAI page and prepare each record for the store (run in a worker), with
    the store's ``preparers``.

    Records come back with ``prepared`` set and ``record`` dropped: the prepared form is all
    the store needs, and far cheaper to send between processes than a :class:`pymarc.Record`.
    """
    page = read_page(raw)
    records = []
    for item in page.records:
        if item.record is None:
            records.append(item)
            continue
        try:
            # MARCXML is read into NFC text with leader/09 set (marc.marcxml): no second pass.
            prepared = prepare(
                item.record,
                normalized=item.metadata_format == "marcxml",
                preparers=preparers,
            )
        except MarcError as exc:  # too large or unwritable as ISO 2709: this record only
            page.problems.append(RecordProblem(str(exc), item.identifier))
            continue
        records.append(replace(item, record=None, prepared=prepared))
    page.records = records
    return page


class StoreSink:
    """Writes harvested pages into the store, each page with its token in one transaction."""

    def __init__(
        self,
        session: Session,
        source_id: int,
        run_id: int,
        *,
        resuming: bool,
        advances: bool,
        full_list: bool = False,
        starts_full: bool = False,
    ) -> None:
        self.session = session
        self.source_id = source_id
        self.run_id = run_id
        #: The current list went on from a saved token (its start was recorded back then).
        self.resuming = resuming
        #: Completing this list may move the high-water mark (not for --until runs).
        self.advances = advances
        #: The list being harvested is a --full one: what it lists is kept for the sweep.
        self.full_list = full_list
        #: This run started that list (from nothing, so it may start it over).
        self.starts_full = starts_full

    def write_page(self, page: HarvestPage) -> PageOutcome:
        """Store ``page`` and save the next token, in one transaction."""
        return locked_write(self.session, lambda: self._write(page))

    def restart(self, reason: str) -> None:
        """The saved token expired: forget it; the list starts again from the high-water mark."""
        self.resuming = False
        gave_up = False
        if self.full_list:
            # A --full run lists everything again; a list continued by a plain run starts
            # again from the high-water mark, which no longer names every record: no sweep.
            gave_up = not self.starts_full
            self.full_list = self.starts_full

        def write() -> None:  # one transaction: the token and what the old list had named
            _forget_seen(self.session, self.source_id)
            self.session.execute(
                update(HarvestSource)
                .where(HarvestSource.id == self.source_id)
                .values(resumption_token=None, pending_high_water=None, full_list=self.full_list)
            )
            self.session.commit()

        locked_write(self.session, write)
        self._note(f"restarted: {reason}")
        if gave_up:
            self._note("the --full list was given up; run --full again to find withdrawn records")

    # -- internals -----------------------------------------------------------------------------

    def _write(self, page: HarvestPage) -> PageOutcome:
        """Write one page in one transaction (the page cache capped, as for an import)."""
        with capped_sqlite_cache(self.session, BULK_SQLITE_CACHE_MB):
            outcome = self._write_page(page)
        self.session.commit()
        return outcome

    def _write_page(self, page: HarvestPage) -> PageOutcome:
        session = self.session
        source = session.get(HarvestSource, self.source_id)
        assert source is not None
        library = source.library
        state = current_app.extensions["libext"]
        store = state.store()
        store.attach_new = False  # only the counts of what was written are used
        outcome = PageOutcome()
        keys = {item.identifier: local_id_for(item.identifier) for item in page.records}
        if self.full_list:
            # A record the page lists but that could not be read is still in the repository:
            # it counts as listed, or the sweep would withdraw its stored copy.
            unreadable = [p.identifier for p in page.problems if p.identifier]
            _remember_seen(
                session, self.source_id, [*keys.values(), *map(local_id_for, unreadable)]
            )
        # One query for the page; the store's cache also covers an identifier repeated within
        # the page (seen in the wild), which then updates instead of inserting twice.
        store.prefetch(library, keys.values())
        harvested_at = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
        for item in page.records:
            local_id = keys[item.identifier]
            found = store.find(library, local_id)
            if item.deleted:
                if found is not None and store.delete(found):
                    outcome.deleted += 1
                else:
                    outcome.unchanged += 1
                continue
            assert item.record is not None or item.prepared is not None
            provenance = Provenance(
                base_url=source.url,
                identifier=item.identifier,
                datestamp=item.datestamp[:32],
                metadata_namespace=DC_NS if item.metadata_format == "oai_dc" else MARC_NS,
                harvest_date=harvested_at,
            )
            result = store.save(
                library,
                item.prepared or item.record,
                local_id=local_id,
                existing=found,
                provenance=provenance,
            )
            if result.action == "created":
                outcome.added += 1
            elif result.action == "updated":
                outcome.updated += 1
            else:
                outcome.unchanged += 1
        source.resumption_token = page.token
        if page.number == 1 and not self.resuming:
            source.pending_high_water = (
                (parse_datestamp(page.response_date) or utcnow()) if self.advances else None
            )
        harvest_run = session.get(HarvestRun, self.run_id)
        assert harvest_run is not None
        harvest_run.heartbeat = utcnow()
        harvest_run.pages += 1
        harvest_run.added += outcome.added
        harvest_run.updated += outcome.updated
        harvest_run.deleted += outcome.deleted
        harvest_run.unchanged += outcome.unchanged
        harvest_run.skipped += len(page.problems)
        notes = [str(p) for p in page.problems] + [f"repaired: {r}" for r in page.repairs]
        if notes:
            kept = [line for line in harvest_run.problems.split("\n") if line]
            harvest_run.problems = "\n".join((kept + notes)[:100])
        store.flush()
        return outcome

    def _commit_source(self, **values: Any) -> None:
        def write() -> None:
            self.session.execute(
                update(HarvestSource).where(HarvestSource.id == self.source_id).values(**values)
            )
            self.session.commit()

        locked_write(self.session, write)

    def _note(self, line: str) -> None:
        def write() -> None:
            harvest_run = self.session.get(HarvestRun, self.run_id)
            if harvest_run is not None:
                harvest_run.problems = (harvest_run.problems + "\n" + line).strip()
                self.session.commit()

        locked_write(self.session, write)


@dataclass
class SourceReport:
    """The outcome of one source's run, as ``flask libext harvest --json`` prints it."""

    source: str
    status: str
    pages: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready data."""
        return {
            "source": self.source,
            "status": self.status,
            "pages": self.pages,
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "error": self.error,
        }


@dataclass(frozen=True)
class HarvestOptions:
    """What a harvest asks for beyond the source's own settings."""

    full: bool = False
    #: ``--from`` and ``--until`` as typed (checked per source, put in its granularity).
    from_: str | None = None
    until: str | None = None
    #: Processes reading pages (see :mod:`libext.workers`); None: ``LIBEXT_WORKER_PROCESSES``.
    reading_workers: int | None = None


Progress = Callable[[str, HarvestPage], None]


#: Who runs a harvest: this machine and process (kept on the run, see :func:`run_is_live`).
RUN_OWNER = f"{socket.gethostname()[:100]}:{os.getpid()}"


def run_is_live(run: HarvestRun, stale_after: float) -> bool:
    """Whether a run marked ``running`` is still going.

    On this machine its process either exists or not (a ``kill -9`` leaves the run marked
    running; the next run must be able to resume at once). Elsewhere, only its heartbeat
    tells: a run that wrote no page for ``stale_after`` seconds is taken as dead.
    """
    host, _, pid = (run.owner or "").rpartition(":")
    if host == socket.gethostname()[:100] and pid.isdigit():
        if int(pid) == os.getpid():
            return True  # a harvest thread of this very process
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if run.heartbeat is None:
        return False
    return utcnow() - run.heartbeat < timedelta(seconds=stale_after)


def harvest_source(
    source_id: int, options: HarvestOptions = HarvestOptions(), progress: Progress | None = None
) -> SourceReport:
    """Harvest one source in the current app context; never raises for a failed harvest."""
    session: Session = get_db().session  # type: ignore[assignment]
    config = current_app.config
    source = session.get(HarvestSource, source_id)
    if source is None:
        return SourceReport(str(source_id), "failed", error="no such harvest source")
    code = source.library.code
    try:
        request, resuming, advances = _plan(source, options, config)
    except ValueError as exc:
        return SourceReport(code, "failed", error=str(exc))
    # Only a list of everything (no --until) shows what the repository no longer has.
    starts_full = options.full and not options.until

    def begin() -> int | str:
        """The new run's id, or why it cannot start (another run of the source is live)."""
        for other in session.scalars(
            select(HarvestRun).where(
                HarvestRun.source_id == source_id, HarvestRun.status == "running"
            )
        ):
            if run_is_live(other, config["LIBEXT_HARVEST_STALE_AFTER"]):
                return (
                    f"another harvest of this source is running (run {other.id}, started "
                    f"{other.started:%Y-%m-%d %H:%M:%S} UTC by {other.owner})"
                )
            # Left "running" by a process that was killed: close it in the log.
            other.status = "interrupted"
            other.finished = utcnow()
            other.error = "the process was stopped"
        session.flush()
        if not resuming:
            session.execute(
                update(HarvestSource)
                .where(HarvestSource.id == source_id)
                .values(resumption_token=None)
            )
        if starts_full:
            _forget_seen(session, source_id)
            source.full_list = True
        elif source.full_list and not resuming:
            # A fresh list that is not --full cannot finish the one in progress.
            _forget_seen(session, source_id)
            source.full_list = False
        harvest_run = HarvestRun(
            source_id=source_id,
            started=utcnow(),
            status="running",
            from_date=request.from_,
            until_date=request.until,
            full=options.full,
            resumed=resuming,
            problems="",
            owner=RUN_OWNER,
            heartbeat=utcnow(),
        )
        session.add(harvest_run)
        try:
            session.commit()
        except IntegrityError:  # another process started a run of this source just now
            session.rollback()
            return "another harvest of this source started at the same moment"
        return harvest_run.id

    begun = locked_write(session, begin)
    if isinstance(begun, str):
        log.warning("harvest of %s not started: %s", code, begun)
        return SourceReport(code, "failed", error=begun)
    run_id = begun
    sink = StoreSink(
        session,
        source_id,
        run_id,
        resuming=resuming,
        advances=advances,
        full_list=source.full_list,
        starts_full=starts_full,
    )
    if progress is not None:
        inner = sink.write_page

        def write_page(page: HarvestPage) -> PageOutcome:
            outcome = inner(page)
            progress(code, page)
            return outcome

        sink.write_page = write_page  # type: ignore[method-assign]
    url = source.url
    client = make_client(url, config)
    error: str | None = None
    try:
        # Checked at every run, not only when added: a host name can move into the network.
        check_base_url(url, config.get("LIBEXT_HARVEST_ALLOWED_NETWORKS") or ())
        preparers = tuple(current_app.extensions["libext"].preparers)
        read_page_prepared = partial(read_harvest_page, preparers=preparers)
        workers = (
            worker_count(config.get("LIBEXT_WORKER_PROCESSES"))
            if options.reading_workers is None
            else options.reading_workers
        )
        result = run(
            client,
            request,
            sink,
            reader=lambda pages: ordered_map(read_page_prepared, pages, workers),
        )
        error = result.error
    except HarvestError as exc:  # refused before the first request
        result = RunResult(status="failed", error=str(exc))
        error = result.error
    except Exception as exc:  # a store or database failure: logged, the source reported failed
        log.exception("harvest of %s failed", code)
        session.rollback()
        result = RunResult(status="failed", error=f"{type(exc).__name__}: {exc}")
        error = result.error
    finally:
        client.close()

    swept = 0
    if result.ok and result.complete and sink.full_list:
        try:
            swept = locked_write(session, lambda: sweep(session, source_id))
        except Exception as exc:  # the harvest itself succeeded; say what the sweep did not do
            log.exception("sweep of %s failed", code)
            session.rollback()
            error = f"records missing from the full harvest were not marked deleted: {exc}"

    def finish() -> SourceReport:
        source = session.get(HarvestSource, source_id)
        harvest_run = session.get(HarvestRun, run_id)
        assert source is not None and harvest_run is not None
        if result.ok and result.complete:
            if source.pending_high_water is not None:
                source.high_water = source.pending_high_water
            source.pending_high_water = None
            source.resumption_token = None
        harvest_run.status = "ok" if result.ok else "failed"
        harvest_run.deleted += swept
        if swept:
            harvest_run.problems = (
                harvest_run.problems
                + f"\n{swept} record(s) no longer in the repository marked deleted"
            ).strip()
        harvest_run.error = error
        harvest_run.finished = utcnow()
        session.commit()
        return SourceReport(
            code,
            harvest_run.status,
            pages=harvest_run.pages,
            added=harvest_run.added,
            updated=harvest_run.updated,
            deleted=harvest_run.deleted,
            skipped=harvest_run.skipped,
            error=error,
        )

    report = locked_write(session, finish)
    return report


def sweep(session: Session, source_id: int) -> int:
    """After a complete ``--full`` list: mark deleted what the repository no longer lists.

    Repositories that keep no deletions (``deletedRecord`` ``no`` or ``transient``) never
    report a withdrawn book; a full harvest is the only way to notice. The list may have been
    harvested by several runs (one killed, the next going on from its token): what it listed
    is in :class:`~libext.models.HarvestSeen`. Only records harvested into the library (they
    have an OAI identifier) are considered, never ones catalogued or imported locally, and
    nothing is swept when the list named no record at all (a misconfigured set would
    otherwise empty the library). Ends the full list; returns how many were marked.
    """
    source = session.get(HarvestSource, source_id)
    assert source is not None
    listed = select(HarvestSeen.local_id).where(HarvestSeen.source_id == source_id)
    gone: list[int] = []
    if session.scalar(select(listed.exists())):
        gone = list(
            session.scalars(
                select(Record.id).where(
                    Record.library_id == source.library_id,
                    Record.origin_identifier.is_not(None),
                    Record.deleted.is_(False),
                    ~select(HarvestSeen.local_id)
                    .where(
                        HarvestSeen.source_id == source_id,
                        HarvestSeen.local_id == Record.local_id,
                    )
                    .exists(),
                )
            )
        )
    store = current_app.extensions["libext"].store()
    for start in range(0, len(gone), 500):
        for record in session.scalars(
            select(Record).where(Record.id.in_(gone[start : start + 500]))
        ):
            store.delete(record)
    store.flush()
    _forget_seen(session, source_id)
    source.full_list = False
    session.commit()
    return len(gone)


def _remember_seen(session: Session, source_id: int, local_ids: Iterable[str]) -> None:
    """Add ``local_ids`` to what the source's --full list has named (repeats are ignored)."""
    rows = [{"source_id": source_id, "local_id": lid} for lid in dict.fromkeys(local_ids)]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    # A repository may list an identifier on two pages: the second mention is no news.
    session.execute(module.insert(HarvestSeen).on_conflict_do_nothing(), rows)


def _forget_seen(session: Session, source_id: int) -> None:
    session.execute(delete(HarvestSeen).where(HarvestSeen.source_id == source_id))


def _plan(
    source: HarvestSource, options: HarvestOptions, config: Any
) -> tuple[HarvestRequest, bool, bool]:
    """The request of this run, whether it resumes a saved list, whether it may advance."""
    granularity = source.granularity or DAY
    from_ = until = None
    if options.from_:
        from_ = normalise_date_argument(options.from_, granularity)
    if options.until:
        until = normalise_date_argument(options.until, granularity)
    ad_hoc = bool(options.from_ or options.until)
    if not options.full and not ad_hoc and source.high_water is not None:
        from_ = incremental_from(
            source.high_water, granularity, float(config["LIBEXT_HARVEST_OVERLAP"])
        )
    # Only a list that covers everything after the high-water mark may move it.
    advances = until is None and (
        options.full
        or not ad_hoc
        or source.high_water is None
        or (from_ is not None and parse_datestamp(from_) <= source.high_water)  # type: ignore[operator]
    )
    resuming = bool(source.resumption_token) and not options.full and not ad_hoc
    request = HarvestRequest(
        metadata_prefix=source.metadata_prefix,
        set_spec=source.set_spec,
        from_=from_,
        until=until,
        resume_token=source.resumption_token if resuming else None,
    )
    return request, resuming, advances


def harvest_sources(
    app: Flask,
    source_ids: Sequence[int],
    options: HarvestOptions = HarvestOptions(),
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[SourceReport]:
    """Harvest several sources, in parallel threads (at most ``LIBEXT_HARVEST_WORKERS``).

    One source's failure never stops the others; reports come back in ``source_ids`` order.
    """
    workers = max(1, int(workers or app.config["LIBEXT_HARVEST_WORKERS"]))

    def one(source_id: int) -> SourceReport:
        with app.app_context():
            try:
                return harvest_source(source_id, options, progress)
            except Exception as exc:  # never lose the other sources' reports
                log.exception("harvest of source %s failed", source_id)
                return SourceReport(str(source_id), "failed", error=f"{type(exc).__name__}: {exc}")

    if workers == 1 or len(source_ids) <= 1:
        return [one(source_id) for source_id in source_ids]
    with ThreadPoolExecutor(max_workers=min(workers, len(source_ids))) as pool:
        return list(pool.map(one, source_ids))


_active_guard = threading.Lock()
_active: set[int] = set()


def start_in_background(app: Flask, source_id: int) -> bool:
    """Harvest one source in a background thread (the admin page's "harvest now").

    Returns False when this process is already harvesting that source. The nightly
    ``flask libext harvest --all`` remains the main way; this is for a librarian who has just
    fixed a source and wants to see it work.
    """
    with _active_guard:
        if source_id in _active:
            return False
        _active.add(source_id)

    def work() -> None:
        try:
            # Read in this web process: its other cores are for readers' searches.
            harvest_sources(app, [source_id], HarvestOptions(reading_workers=0), workers=1)
        finally:
            with _active_guard:
                _active.discard(source_id)

    threading.Thread(target=work, name=f"libext-harvest-{source_id}", daemon=True).start()
    return True
