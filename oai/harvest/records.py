"""From an OAI-PMH ``<record>`` element to what the store keeps.

Each record becomes a :class:`HarvestedRecord`: OAI identifier, datestamp, deleted flag, set
specs and a :class:`pymarc.Record` — read from MARCXML, or built as a minimal MARC record from
``oai_dc`` with a note saying where it came from. A record that cannot be used raises
:class:`~oai.harvest.errors.RecordProblem`; :func:`read_records` collects those per page so one
bad record never costs the rest of its page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pymarc
from lxml import etree
from pymarc import Field, Indicators, Subfield

from marc.marcxml import element_to_record
from marc.pickling import flat_pickle
from oai.harvest.errors import RecordProblem
from oai.harvest.feed import INVALID_BYTES_MARK, OAI_NS

MARC_NS = "http://www.loc.gov/MARC21/slim"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"

_OAI = f"{{{OAI_NS}}}"
_DATESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


@flat_pickle
@dataclass(frozen=True, slots=True)
class HarvestedRecord:
    """One harvested record, ready for the store.

    ``record`` is ``None`` for deletions. ``datestamp`` is the header's text as sent (kept as
    provenance); ``datestamp_utc`` its value as a naive UTC datetime. ``prepared`` is for the
    consumer: what it made of ``record`` ahead of storing (made in a worker process, it
    replaces ``record``, which then is ``None`` too; ``deleted`` tells the two apart).
    """

    identifier: str
    datestamp: str
    datestamp_utc: datetime | None
    deleted: bool
    record: pymarc.Record | None
    sets: tuple[str, ...] = ()
    #: ``marcxml`` or ``oai_dc`` (how ``record`` was made); ``None`` for deletions.
    metadata_format: str | None = None
    prepared: Any = None


def parse_datestamp(text: str) -> datetime | None:
    """An OAI datestamp (day or second granularity, UTC) as a naive UTC datetime."""
    match = _DATESTAMP.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        aware = value.replace(tzinfo=UTC) - _minutes(offset)
        value = aware.replace(tzinfo=None)
    return value


def _minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def read_records(
    elements: Iterable[etree._Element], base_url: str = "", *, check_marks: bool = False
) -> tuple[list[HarvestedRecord], list[RecordProblem]]:
    """Read every record element of a page; bad ones become problems, the rest are kept.

    ``check_marks`` is set when the page had invalid bytes replaced by
    :data:`~oai.harvest.feed.INVALID_BYTES_MARK`: records containing the mark are skipped.
    """
    records: list[HarvestedRecord] = []
    problems: list[RecordProblem] = []
    for element in elements:
        try:
            records.append(read_record(element, base_url, check_marks=check_marks))
        except RecordProblem as problem:
            problems.append(problem)
    return records, problems


def read_record(
    element: etree._Element, base_url: str = "", *, check_marks: bool = False
) -> HarvestedRecord:
    """One ``<record>`` element; raises :class:`RecordProblem` when it cannot be used."""
    header = element.find(f"{_OAI}header")
    if header is None:
        raise RecordProblem("record without a header")
    identifier = (header.findtext(f"{_OAI}identifier") or "").strip()
    if not identifier:
        raise RecordProblem("header without an identifier")
    if check_marks and INVALID_BYTES_MARK in identifier:
        raise RecordProblem("identifier contains bytes that are not valid in the feed encoding")
    datestamp = (header.findtext(f"{_OAI}datestamp") or "").strip()
    sets = tuple((s.text or "").strip() for s in header.findall(f"{_OAI}setSpec"))
    if header.get("status") == "deleted":
        return HarvestedRecord(identifier, datestamp, parse_datestamp(datestamp), True, None, sets)
    if check_marks and INVALID_BYTES_MARK in etree.tostring(element, encoding="unicode"):
        raise RecordProblem(
            "bytes that are not valid in the feed encoding (record skipped rather than stored "
            "with guessed characters)",
            identifier,
        )
    metadata = element.find(f"{_OAI}metadata")
    payload = None
    if metadata is not None:
        payload = next((child for child in metadata if isinstance(child.tag, str)), None)
    if payload is None:
        raise RecordProblem("record without metadata", identifier)
    namespace, _, local = payload.tag[1:].partition("}") if payload.tag[0] == "{" else ("", "", "")
    if not local:
        local = payload.tag
    if local == "collection" and namespace in (MARC_NS, ""):
        payload = next(
            (c for c in payload if isinstance(c.tag, str) and c.tag.endswith("record")), None
        )
        if payload is None:
            raise RecordProblem("empty MARCXML collection", identifier)
        local = "record"
    if local == "record" and namespace in (MARC_NS, ""):
        record = marcxml_to_record(payload, identifier)
        fmt = "marcxml"
    elif local == "dc" and namespace == OAI_DC_NS:
        record = dc_to_record(payload, identifier, datestamp, base_url)
        fmt = "oai_dc"
    else:
        raise RecordProblem(f"unsupported metadata format {payload.tag}", identifier)
    return HarvestedRecord(
        identifier, datestamp, parse_datestamp(datestamp), False, record, sets, fmt
    )


def marcxml_to_record(element: etree._Element, identifier: str | None = None) -> pymarc.Record:
    """A MARCXML ``<record>`` element as an NFC :class:`pymarc.Record`.

    The same conversion as a MARCXML import (:func:`marc.marcxml.element_to_record`), strict
    about structure because nothing validates a harvested record later; a record it rejects,
    or one without fields, raises :class:`RecordProblem` naming the record.
    """
    record, reason, _warnings = element_to_record(element, strict=True)
    if record is None:
        raise RecordProblem(f"MARCXML {reason}", identifier)
    if not record.fields:
        raise RecordProblem("MARCXML record without fields", identifier)
    return record


# Dublin Core type vocabulary → MARC leader/06 (type of record).
_DC_TYPES = {
    "text": "a",
    "image": "k",
    "still image": "k",
    "stillimage": "k",
    "moving image": "g",
    "movingimage": "g",
    "sound": "i",
    "dataset": "m",
    "software": "m",
    "physical object": "r",
    "physicalobject": "r",
    "map": "e",
    "cartographic": "e",
}
_ISBN = re.compile(r"^(?:ISBN[:\s]*)?([0-9][0-9\- ]{8,16}[0-9Xx])$", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_LANG = re.compile(r"^[a-z]{3}$")


def dc_to_record(
    element: etree._Element, identifier: str, datestamp: str = "", base_url: str = ""
) -> pymarc.Record:
    """A minimal MARC record from ``oai_dc``, with notes (500, 588) saying where it came from."""
    values: dict[str, list[str]] = {}
    for child in element:
        if isinstance(child.tag, str) and child.tag.startswith(f"{{{DC_NS}}}"):
            text = " ".join((child.text or "").split())
            if text:
                values.setdefault(child.tag[len(DC_NS) + 2 :], []).append(text)

    def first(name: str) -> str:
        return values.get(name, [""])[0]

    dc_type = first("type").lower()
    record_type = _DC_TYPES.get(dc_type, "a")
    record = pymarc.Record(force_utf8=True)
    # Encoding level 3 (abbreviated), descriptive form unknown: this is not a full record.
    record.leader = pymarc.Leader(f"00000n{record_type}m a22000003u 4500")
    year_match = _YEAR.search(first("date"))
    year = year_match.group(1) if year_match else ""
    language = first("language").lower()
    lang_code = language if _LANG.match(language) else "und"
    # 008/00-05 from the datestamp, not today: re-harvesting an unchanged record must give the
    # same bytes, or every run would "update" every Dublin Core record.
    stamp = parse_datestamp(datestamp) if datestamp else None
    entered = stamp.strftime("%y%m%d") if stamp else "||||||"
    fixed = f"{entered}{'s' if year else 'n'}{year or 'uuuu'}    xx {' ' * 17}{lang_code} d"
    record.add_field(Field(tag="008", data=fixed))
    for text in values.get("identifier", []):
        isbn = _ISBN.match(text)
        if isbn:
            record.add_field(_field("020", "  ", [("a", isbn.group(1).replace(" ", ""))]))
    record.add_field(_field("035", "  ", [("a", f"(OAI){identifier}")]))
    if language and not _LANG.match(language):
        record.add_field(_field("546", "  ", [("a", first("language"))]))
    creators = values.get("creator", [])
    if creators:
        record.add_field(_field("100", "1 ", [("a", creators[0])]))
    titles = values.get("title", []) or ["[Untitled]"]
    record.add_field(_field("245", ("1" if creators else "0") + "0", [("a", titles[0])]))
    for title in titles[1:]:
        record.add_field(_field("246", "3 ", [("a", title)]))
    imprint = [("b", p) for p in values.get("publisher", [])[:1]]
    imprint += [("c", d) for d in values.get("date", [])[:1]]
    if imprint:
        record.add_field(_field("260", "  ", imprint))
    for fmt in values.get("format", []):
        record.add_field(_field("500", "  ", [("a", f"Format: {fmt}")]))
    record.add_field(
        _field("500", "  ", [("a", "Minimal record converted from Dublin Core (oai_dc).")])
    )
    for text in values.get("description", []):
        record.add_field(_field("520", "  ", [("a", text)]))
    for text in values.get("rights", []):
        record.add_field(_field("540", "  ", [("a", text)]))
    origin = (
        "Description based on Dublin Core metadata harvested by OAI-PMH from "
        f"{base_url or 'an OAI-PMH repository'}, identifier {identifier}"
    )
    if datestamp:
        origin += f", datestamp {datestamp}"
    record.add_field(_field("588", "0 ", [("a", origin + ".")]))
    for text in values.get("subject", []):
        record.add_field(_field("653", "  ", [("a", text)]))
    for name in creators[1:] + values.get("contributor", []):
        record.add_field(_field("700", "1 ", [("a", name)]))
    for text in values.get("relation", []) + values.get("source", []):
        record.add_field(_field("787", "0 ", [("n", text)]))
    for text in values.get("identifier", []):
        if text.startswith(("http://", "https://")):
            record.add_field(_field("856", "40", [("u", text)]))
    return record


def _field(tag: str, indicators: str, subfields: list[tuple[str, str]]) -> Field:
    return Field(
        tag=tag,
        indicators=Indicators(indicators[0], indicators[1]),
        subfields=[Subfield(code, value) for code, value in subfields],
    )
