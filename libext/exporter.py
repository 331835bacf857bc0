"""Exporting records in ISO 2709, MARCXML, MARC-in-JSON or .mrk, through the host seam.

Records are read page by page from a :class:`oai.source.RecordSource` (libext's store, or a
host ILS's own tables) in ``(datestamp, key)`` order and streamed to the output, so an export
of any size runs in bounded memory.

Holdings are written as MARC 21 852 fields, in every format and every kind of export: a
record's own 852s stay as they are; each Koha 952 item is written as the 852 of the copy it
describes ($a library, $b location, $h call number, $p barcode, $z status when not simply
available: what the store's holdings table read from it), and the 952 itself is not (Koha's
other item data, prices and circulation counts, stays in the stored record); a record with
neither gets one 852 per holding the source lists. Apart from that the stored bytes are
written as they are: a record imported as valid NFC UTF-8 ISO 2709 leaves byte-identical,
holdings aside. Deleted records are left out unless asked for; included, they carry
leader/05 ``d``. A *public* export (``public=True``, what anonymous users get) leaves out the
library's internal data as :mod:`marc.internal_fields` defines it (local 9XX fields, 852
barcodes and nonpublic notes, 541, 583...), the 852s written for holdings included. A record
that cannot be written in the format (over 99,999 bytes for ISO 2709...) is skipped and
listed in the report, never written broken.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

import pymarc
from sqlalchemy import select
from sqlalchemy.orm import Session

from marc.extract import holdings_from_record
from marc.internal_fields import has_internal_data, public_record
from marc.writer import WRITE_FORMATS, MarcWriter
from oai.source import HoldingInfo, ListQuery, RecordSource, SourceRecord

PAGE = 500
#: Most records a search-result export takes (a search is for finding, not for dumps).
MAX_QUERY_RECORDS = 100_000
CONTENT_TYPES = {
    "iso2709": "application/marc",
    "marcxml": "application/marcxml+xml",
    "json": "application/json",
    "mrk": "text/plain; charset=utf-8",
}
SUFFIXES = {"iso2709": ".mrc", "marcxml": ".xml", "json": ".json", "mrk": ".mrk"}
#: A time whose offset sign became a space: what ``+07:00`` turns into in a URL query string
#: typed by hand (``+`` decodes as a space).
_SPACED_OFFSET = re.compile(r"(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_since(text: str) -> datetime:
    """A ``since`` bound (``YYYY-MM-DD`` or ISO 8601) as the naive UTC datetime datestamps
    are stored in; raises ValueError for anything else.

    An offset is converted (``13:43:38+07:00`` is ``06:43:38`` UTC); a time without one is
    taken as UTC, like the stored datestamps. The CLI and the HTTP API both parse with this.
    """
    text = _SPACED_OFFSET.sub(r"\1+\2", text.strip())
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+07:00 is before year 1 in UTC
            raise ValueError(f"{text!r} is out of range in UTC") from None
    return moment


@dataclass
class ExportReport:
    """How many records were written, and which were refused and why."""

    format: str
    written: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    stripped_characters: int = 0
    #: Fields and subfields MARCXML cannot express (bad tags or subfield codes), left out.
    dropped: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "format": self.format,
            "written": self.written,
            "refused": [{"record": name, "reason": reason} for name, reason in self.refused],
            "stripped_characters": self.stripped_characters,
            "dropped": self.dropped,
        }


def holdings_852(holdings: Sequence[HoldingInfo]) -> list[pymarc.Field]:
    """852 fields for holdings: $a library, $b location, $h call number, $p barcode, $z status
    when the copy is not simply available. (A public export leaves $p out afterwards, with
    every other internal subfield: see :mod:`marc.internal_fields`.)"""
    fields = []
    for h in holdings:
        subfields = [pymarc.Subfield("a", h.library_code)]
        if h.location:
            subfields.append(pymarc.Subfield("b", h.location))
        if h.call_number:
            subfields.append(pymarc.Subfield("h", h.call_number))
        if h.barcode:
            subfields.append(pymarc.Subfield("p", h.barcode))
        if h.status and h.status != "available":
            subfields.append(pymarc.Subfield("z", h.status))
        fields.append(pymarc.Field("852", pymarc.Indicators(" ", " "), subfields))
    return fields


def koha_copies(
    items: Sequence[pymarc.Field], library_code: str | None
) -> list[HoldingInfo | None]:
    """The copy each 952 field of ``items`` describes as a Koha item, read exactly as the store
    reads it into its holdings table (:func:`marc.extract.holdings_from_record`), so that its
    852 says what the holding says; ``library_code`` is the record's library (Koha's home
    branch, ``952 $a``, when the source names none).

    None for a 952 that describes no copy (no call number, barcode, location or status):
    9XX fields are local, and other systems keep other things in 952 (Library of Congress
    records carry a cataloguer's date in ``952 $a``).
    """
    only_items = pymarc.Record(force_utf8=True)
    only_items.fields = list(items)  # type: ignore[assignment]
    # one HoldingData per 952, in order: the record holds nothing else
    return [
        HoldingInfo(
            library_code=library_code or copy.institution,
            call_number=copy.call_number,
            barcode=copy.barcode,
            location=copy.location,
            status=copy.status,
        )
        if copy.call_number or copy.barcode or copy.location or copy.status != "available"
        else None
        for copy in holdings_from_record(only_items)
    ]


def _stored_tags(marc: bytes) -> set[bytes] | None:
    """Tags in a stored record's directory (no parse), or None when it is unreadable."""
    try:
        base = int(marc[12:17])
    except ValueError:
        return None
    directory = marc[24 : base - 1]
    return {directory[i : i + 3] for i in range(0, len(directory) - 11, 12)}


def _holdings_as_852(item: SourceRecord, record: pymarc.Record) -> list[pymarc.Field] | None:
    """``record``'s fields with its holdings written as 852, or None when they already are.

    The record's own 852s are MARC 21 holdings already and stay as they are (they carry more
    than a holding row: $c, $i, $j, public notes, indicators). Each Koha 952 item is written
    as the 852 of its copy (:func:`koha_copies`) in its place: the 952, Koha's working
    layout, is not written. A record with neither 852 nor 952 gets one 852 per holding the
    source lists (a host ILS's copies). New 852s go where MARC 21 puts them: after the last
    field tagged up to 852, so before any 9XX.
    """
    fields = list(record.fields)
    items = [f for f in fields if f.tag == "952"]
    if items:
        copies = dict(zip(map(id, items), koha_copies(items, item.library_code), strict=True))
        added = holdings_852([c for c in copies.values() if c is not None])
        if not added:
            return None
        fields = [f for f in fields if copies.get(id(f)) is None]
    elif item.holdings and not any(f.tag == "852" for f in fields):
        added = holdings_852(item.holdings)
    else:
        return None
    at = max((i + 1 for i, f in enumerate(fields) if f.tag <= "852"), default=0)
    return fields[:at] + added + fields[at:]


def _prepared(
    item: SourceRecord, public: bool = False
) -> tuple[pymarc.Record | None, bytes | None]:
    """The record to write and, when they can be written unchanged, its stored bytes.

    Stored bytes that need no change (holdings already 852s, or none to add; no Koha 952;
    leader/05 right; for a public export, no field that may hold internal data) are used
    without parsing the record at all; the record is then None only if the caller also
    needs it (MARCXML, JSON, .mrk), which it gets from ``item.record``. A public copy is
    the whole copy less :func:`marc.internal_fields.public_record`'s internal data.
    """
    marc = item.marc_bytes
    if marc is not None and len(marc) > 24:
        tags = _stored_tags(marc)
        if (
            tags is not None
            and (not item.deleted or marc[5:6] == b"d")
            and b"952" not in tags
            and (b"852" in tags or not item.holdings)
            and not (public and has_internal_data({t.decode("latin-1") for t in tags}))
        ):
            return None, marc
    record = item.record
    if record is None:
        return None, None
    fields = _holdings_as_852(item, record)
    leader = str(record.leader)
    change_leader = item.deleted and leader[5:6] != "d"
    if fields is None and not change_leader and not public:
        return record, item.marc_bytes
    copy = pymarc.Record(force_utf8=True)
    copy.leader = pymarc.Leader(leader[:5] + "d" + leader[6:] if change_leader else leader)
    copy.fields = fields if fields is not None else list(record.fields)  # type: ignore[assignment]
    return (public_record(copy) if public else copy), None


def iter_source(
    source: RecordSource,
    *,
    library: str | None = None,
    since: datetime | None = None,
    keys: Sequence[int | str] | None = None,
    include_deleted: bool = False,
    page: int = PAGE,
) -> Iterator[SourceRecord]:
    """Every record of ``source`` matching the filters, page by page (keyset paging)."""
    query = ListQuery(since=since, include_deleted=include_deleted, library_code=library, keys=keys)
    while True:
        batch = source.list(query, page)
        for item in batch:
            if item.deleted and not include_deleted:
                continue
            if library is not None and item.library_code not in (None, library):
                continue
            yield item
        if len(batch) < page:
            return
        last = batch[-1]
        query = ListQuery(
            since=since,
            include_deleted=include_deleted,
            library_code=library,
            keys=keys,
            after=(last.datestamp, last.key),
        )


def export(
    source: RecordSource,
    out: BinaryIO,
    fmt: str,
    *,
    library: str | Sequence[str] | None = None,
    since: datetime | None = None,
    keys: Sequence[int | str] | None = None,
    include_deleted: bool = False,
    public: bool = False,
) -> ExportReport:
    """Write the selected records of ``source`` to ``out`` in ``fmt`` (without internal
    data when ``public``); returns the report (see :func:`export_chunks`)."""
    report = ExportReport(fmt)
    for chunk in export_chunks(
        source,
        fmt,
        report,
        library=library,
        since=since,
        keys=keys,
        include_deleted=include_deleted,
        public=public,
    ):
        out.write(chunk)
    return report


def export_report(source: RecordSource, fmt: str, **selection: Any) -> ExportReport:
    """What an export of ``selection`` (:func:`export_chunks`'s keyword arguments) writes and
    refuses, without the output.

    It costs what the export costs (every record is prepared and encoded, then dropped):
    whether a record fits the format is only known once it is written, and a host source
    builds its records on the fly.
    """
    report = ExportReport(fmt)
    for _chunk in export_chunks(source, fmt, report, **selection):
        pass
    return report


class _Buffer:
    """A write-only file collecting bytes until the streaming generator takes them."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def export_chunks(
    source: RecordSource,
    fmt: str,
    report: ExportReport,
    *,
    library: str | Sequence[str] | None = None,
    since: datetime | None = None,
    keys: Sequence[int | str] | None = None,
    include_deleted: bool = False,
    public: bool = False,
    flush_every: int = 100,
) -> Iterator[bytes]:
    """The export as a stream of byte chunks (for an HTTP response); fills ``report`` once
    the stream is exhausted. With ``public``, internal data is left out (see
    :mod:`marc.internal_fields`).

    A record that cannot be written is left out and listed in ``report.refused``; a MARCXML
    document also names it in a closing comment (:class:`marc.writer.MarcWriter`).
    """
    buffer = _Buffer()
    writer = MarcWriter(buffer, fmt)  # type: ignore[arg-type]
    key_slices: list[Sequence[int | str] | None] = (
        [keys[i : i + PAGE] for i in range(0, len(keys), PAGE)] if keys is not None else [None]
    )
    # Several libraries (a cataloguer's own, when no single one was asked for): one after
    # the other, in one document.
    libraries: list[str | None] = (
        [library] if library is None or isinstance(library, str) else list(library)
    )
    count = 0
    parts = [(lib, part) for lib in libraries for part in key_slices]
    for lib, part in parts:
        for item in iter_source(
            source, library=lib, since=since, keys=part, include_deleted=include_deleted
        ):
            record, stored = _prepared(item, public)
            if record is None and stored is None:
                writer.refused.append((f"record {item.key}", "deleted; no metadata kept"))
                continue
            writer.write(record, stored)  # stored bytes are decoded when not ISO 2709
            count += 1
            if count % flush_every == 0:
                yield buffer.take()
    writer.close()
    report.written = writer.written
    report.refused = writer.refused
    report.stripped_characters = writer.stats.get("stripped", 0)
    report.dropped = writer.stats.get("dropped", 0)
    yield buffer.take()


def query_record_ids(session: Session, q: str, library: str | None = None) -> list[int]:
    """Ids of the store's live records in the editions a search for ``q`` finds."""
    from libext.models import Library, Record
    from libext.models.search import SearchMember
    from libext.search.engine import SearchRequest, engine_for
    from libext.search.query import parse_query

    engine = engine_for(session)
    cluster_ids: list[int] = []
    page = 1
    while len(cluster_ids) < MAX_QUERY_RECORDS:
        request = SearchRequest(query=parse_query(q), page=page, size=1000, with_facets=False)
        hits = engine.search(session, request)
        cluster_ids.extend(hits.cluster_ids)
        if len(hits.cluster_ids) < 1000:
            break
        page += 1
    ids: list[int] = []
    for start in range(0, len(cluster_ids), 500):
        stmt = (
            select(Record.id)
            .join(SearchMember, SearchMember.record_id == Record.id)
            .where(SearchMember.cluster_id.in_(cluster_ids[start : start + 500]))
            .where(Record.deleted.is_(False))
        )
        if library is not None:
            stmt = stmt.join(Library, Library.id == Record.library_id).where(
                Library.code == library
            )
        ids.extend(session.scalars(stmt))
    return sorted(set(ids))[:MAX_QUERY_RECORDS]


__all__ = [
    "CONTENT_TYPES",
    "SUFFIXES",
    "WRITE_FORMATS",
    "ExportReport",
    "export",
    "export_chunks",
    "export_report",
    "holdings_852",
    "iter_source",
    "koha_copies",
    "parse_since",
]
