"""The page loop of a harvest.

:func:`iter_pages` is a plain iterator: one :class:`HarvestPage` per ``ListRecords`` response,
records already read, with the resumption token of the next page. A caller that stores each
page together with that token, in one transaction, can be killed at any moment and go on from
the last stored page.

:func:`run` is that caller for anything implementing :class:`Sink` (the store side does): it
writes page after page, restarts the list once when a saved token has expired, and turns a
failure into a :class:`RunResult` with the error text instead of an exception, keeping every
page already written.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from lxml import etree

from oai.harvest.client import OAIClient, page_records
from oai.harvest.errors import BadResumptionToken, HarvestError, RecordProblem
from oai.harvest.feed import new_parser
from oai.harvest.records import HarvestedRecord, read_records

log = logging.getLogger(__name__)

P = TypeVar("P")

#: Record problems kept in a :class:`RunResult` (all are logged).
MAX_PROBLEMS_KEPT = 100


@dataclass(frozen=True)
class HarvestRequest:
    """What to list. Dates are strings already in the repository's granularity.

    With ``resume_token`` the list goes on from a saved page; ``from_``/``until`` are then
    only used if the token has expired and the list must start again.
    """

    metadata_prefix: str
    set_spec: str | None = None
    from_: str | None = None
    until: str | None = None
    resume_token: str | None = None


@dataclass
class HarvestPage:
    """One page, read: good records, problems, and the token of the next page."""

    number: int
    records: list[HarvestedRecord]
    problems: list[RecordProblem]
    #: Token for the next page; ``None`` when this page completes the list.
    token: str | None
    response_date: str
    repairs: list[str] = field(default_factory=list)
    cursor: int | None = None
    complete_list_size: int | None = None


@dataclass
class PageOutcome:
    """What a sink did with one page."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    #: Records the sink itself refused (the page's own problems are counted by the runner).
    skipped: int = 0


class Sink(Protocol):
    """Where harvested pages go; the store side implements it."""

    def write_page(self, page: HarvestPage) -> PageOutcome:
        """Store the page's records *and* ``page.token`` atomically; return the counts."""
        ...

    def restart(self, reason: str) -> None:
        """The saved token is no longer valid: forget it (the list starts over)."""
        ...


@dataclass
class RunResult:
    """Summary of one harvest of one source."""

    status: str = "ok"  # "ok" or "failed"
    pages: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    error: str | None = None
    #: ``responseDate`` of the first page of a list started afresh in this run (the basis of
    #: the next incremental ``from``); ``None`` when the run only went on from a saved token,
    #: whose list start the caller saved with it.
    first_response_date: str | None = None
    #: True when the list was harvested to its end.
    complete: bool = False
    restarts: int = 0
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.status == "ok"

    def add(self, outcome: PageOutcome, page: HarvestPage) -> None:
        """Count one written page."""
        self.pages += 1
        self.added += outcome.added
        self.updated += outcome.updated
        self.deleted += outcome.deleted
        self.unchanged += outcome.unchanged
        self.skipped += outcome.skipped + len(page.problems)
        for problem in page.problems:
            if len(self.problems) < MAX_PROBLEMS_KEPT:
                self.problems.append(str(problem))
        for repair in page.repairs:
            if len(self.repairs) < MAX_PROBLEMS_KEPT:
                self.repairs.append(f"page {page.number}: {repair}")


@dataclass
class RawPage:
    """One fetched page before its records are read: plain data, so it can be handed to
    another process (the page travels as the repaired XML it was parsed from)."""

    number: int
    xml: bytes
    token: str | None
    response_date: str
    base_url: str
    #: The page had invalid bytes replaced by the feed's mark (see :func:`read_records`).
    check_marks: bool = False
    repairs: list[str] = field(default_factory=list)
    cursor: int | None = None
    complete_list_size: int | None = None


def iter_raw_pages(client: OAIClient, request: HarvestRequest) -> Iterator[RawPage]:
    """Pages of ``request`` as fetched; raises :mod:`errors` on failure."""
    previous_token = request.resume_token
    for page in client.list_records(
        request.metadata_prefix,
        set_spec=request.set_spec,
        from_=request.from_,
        until=request.until,
        token=request.resume_token,
    ):
        yield RawPage(
            number=page.number,
            xml=page.data,
            token=page.token,
            response_date=page.response_date,
            base_url=client.base_url,
            check_marks=page.invalid_sequences > 0,
            repairs=page.repairs,
            cursor=page.cursor,
            complete_list_size=page.complete_list_size,
        )
        if page.token is not None and page.token == previous_token:
            # A provider that hands back the token it was given would loop for ever.
            raise HarvestError(
                f"{client.base_url}: the provider returned the same resumption token again"
            )
        previous_token = page.token


_parsers = threading.local()


def _page_parser() -> etree.XMLParser:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = new_parser()
    return parser


def read_page(raw: RawPage) -> HarvestPage:
    """Read the records of a fetched page (bad ones become the page's problems)."""
    # Parsed once more where it is read, as the fetcher parsed it: one parse of the whole
    # page costs less than serialising each record for another process and parsing each.
    root = etree.fromstring(raw.xml, _page_parser())
    records, problems = read_records(page_records(root), raw.base_url, check_marks=raw.check_marks)
    return HarvestPage(
        number=raw.number,
        records=records,
        problems=problems,
        token=raw.token,
        response_date=raw.response_date,
        repairs=raw.repairs,
        cursor=raw.cursor,
        complete_list_size=raw.complete_list_size,
    )


def iter_pages(client: OAIClient, request: HarvestRequest) -> Iterator[HarvestPage]:
    """Pages of ``request``, each read into records; raises :mod:`errors` on failure."""
    return map(read_page, iter_raw_pages(client, request))


#: Reads the fetched pages into records: :func:`read_page` on each, here or in other processes.
PageReader = Callable[[Iterator[RawPage]], Iterator[HarvestPage]]


def _log_page(base_url: str, page: HarvestPage) -> None:
    for problem in page.problems:
        log.warning("%s page %d: skipped %s", base_url, page.number, problem)
    for repair in page.repairs:
        log.warning("%s page %d: repaired %s", base_url, page.number, repair)


def read_ahead(pages: Iterator[P]) -> Iterator[P]:
    """``pages``, with the next page fetched in a thread while this one is read and stored.

    Fetching (network) and parsing (lxml, in C) then overlap with the database writes. Only
    one page is read ahead; asking for it early is harmless, since an OAI list request is
    idempotent and a page is only committed, with its token, by the consumer.
    """
    box: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: tuple[str, object]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not put(("page", page)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    worker = threading.Thread(target=produce, name="oai-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "page":
                yield value  # type: ignore[misc]
            elif kind == "done":
                return
            else:
                raise value  # type: ignore[misc]
    finally:
        stop.set()


def run(
    client: OAIClient,
    request: HarvestRequest,
    sink: Sink,
    *,
    max_restarts: int = 1,
    prefetch: bool = True,
    reader: PageReader | None = None,
) -> RunResult:
    """Harvest ``request`` into ``sink`` page by page; never raises :class:`HarvestError`.

    With ``prefetch`` the next page is fetched while the sink writes the current one.
    ``reader`` turns fetched pages into read ones (default: :func:`read_page` on each, in
    this process); the store side passes one that reads in worker processes.
    """
    result = RunResult()
    current = request
    while True:
        try:
            raw = iter_raw_pages(client, current)
            pages = (reader or _read_here)(read_ahead(raw) if prefetch else raw)
            for page in pages:
                _log_page(client.base_url, page)
                if page.number == 1 and current.resume_token is None:
                    result.first_response_date = page.response_date
                outcome = sink.write_page(page)
                result.add(outcome, page)
            result.complete = True
            return result
        except BadResumptionToken as exc:
            if result.restarts >= max_restarts:
                return _failed(result, exc)
            result.restarts += 1
            reason = (
                f"resumption token rejected ({exc}); restarting from {current.from_ or 'the start'}"
            )
            log.warning("%s: %s", client.base_url, reason)
            sink.restart(reason)
            # A fresh list: its first responseDate is the one that bounds the next run.
            result.first_response_date = None
            current = replace(current, resume_token=None)
        except HarvestError as exc:
            return _failed(result, exc)


def _read_here(pages: Iterator[RawPage]) -> Iterator[HarvestPage]:
    return map(read_page, pages)


def _failed(result: RunResult, exc: HarvestError) -> RunResult:
    result.status = "failed"
    result.error = str(exc)
    log.error("harvest failed: %s", exc)
    return result
