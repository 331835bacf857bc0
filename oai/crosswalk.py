"""MARC 21 → the metadata formats the provider disseminates: MARCXML and oai_dc.

``marcxml`` writes a ``<marc:record>`` with the one MARCXML writer, :mod:`marc.marcxml_writer`
(shared with exports and SRU), which validates against MARC21slim.xsd whatever the stored
record looks like: an OAI response with one schema-invalid record is an invalid response.
When the source hands out holdings, they are written as one 852 per copy (MARC Holdings:
$a institution, $b location, $h call number, $p barcode, $z status) in place of the record's
own 852/952 fields, which the holdings were read from.

``oai_dc`` follows the Library of Congress "MARC to Dublin Core Crosswalk" (unqualified). Two
deliberate readings: the crosswalk puts every name in ``dc:contributor`` while LoC's own
MARC21slim2OAIDC stylesheet puts them all in ``dc:creator``; we write the main entry (1XX) as
``dc:creator`` and added entries (7XX, 720) as ``dc:contributor``, which is what aggregators
index as author. And RDA records carry publication data in 264 (second indicator 1) instead of
260, so 264 feeds ``dc:publisher``/``dc:date`` exactly as 260 does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pymarc
from lxml import etree

from marc.marcxml_writer import (
    MARC_NS,
    MARC_SCHEMA,
    nfc,
    parse_written,
    repair_leader,
)
from marc.marcxml_writer import marcxml_text as write_marcxml
from oai.source import HoldingInfo
from oai.xml import XSI_NS, clean_text

__all__ = [
    "DC_ELEMENTS",
    "MARC_NS",
    "MARC_SCHEMA",
    "OAI_DC_NS",
    "OAI_DC_SCHEMA",
    "dublin_core",
    "holding_field",
    "marcxml",
    "marcxml_text",
    "oai_dc",
    "repair_leader",
]

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"

_XSI_LOCATION = f"{{{XSI_NS}}}schemaLocation"
_DC = f"{{{DC_NS}}}"


def _text(value: str) -> str:
    """Field data for XML: NFC (a host ILS may store decomposed Vietnamese), no illegal chars."""
    return nfc(clean_text(value))


def holding_field(holding: HoldingInfo) -> pymarc.Field:
    """One copy as a MARC 852 (Location) field."""
    pairs = (
        ("a", holding.library_code),
        ("b", holding.location),
        ("h", holding.call_number),
        ("p", holding.barcode),
        ("z", holding.status),
    )
    return pymarc.Field(
        tag="852",
        indicators=pymarc.Indicators(" ", " "),
        subfields=[pymarc.Subfield(code, value) for code, value in pairs if value],
    )


def marcxml_text(record: pymarc.Record, holdings: Sequence[HoldingInfo] = ()) -> str:
    """``record`` as the text of a schema-valid ``<marc:record>`` element, holdings as 852
    (the one MARCXML writer, :func:`marc.marcxml_writer.marcxml_text`)."""
    fields = [holding_field(h) for h in holdings] if holdings else None
    return write_marcxml(record, fields)


def marcxml(record: pymarc.Record, holdings: Sequence[HoldingInfo] = ()) -> etree._Element:
    """``record`` as a schema-valid MARCXML ``<marc:record>`` element, holdings as 852."""
    return parse_written(marcxml_text(record, holdings))


# --- MARC → Dublin Core -------------------------------------------------------------------

# Subfields that carry control data ($0 authority id, $1 URI, $2 source, $3 materials,
# $4 relator code, $5 institution, $6 linkage, $8 field link), never part of a value.
_CONTROL_SUBFIELDS = frozenset("0123456789")
_SUBJECT_SUBDIVISIONS = frozenset("vxyz")
_TRAILING = " /:;,="


def _chop(text: str) -> str:
    """Strip ISBD punctuation that ends a MARC value (" /", " :", "."), as LoC's XSL does.

    A final period stays after a one-letter initial ("Smith, J.") and in ellipses.
    """
    text = text.strip().rstrip(_TRAILING).strip()
    if text.endswith(".") and not text.endswith("..") and not re.search(r"\b\w\.$", text):
        text = text[:-1].rstrip(_TRAILING).strip()
    return text


def _values(field: pymarc.Field, codes: str | None = None) -> list[str]:
    return [
        sf.value.strip()
        for sf in field.subfields
        if sf.value
        and sf.value.strip()
        and (sf.code in codes if codes else sf.code not in _CONTROL_SUBFIELDS)
    ]


def _joined(field: pymarc.Field, codes: str | None = None) -> str:
    return _chop(" ".join(_values(field, codes)))


def _subject(field: pymarc.Field, main: str) -> str:
    """Heading with its subdivisions joined by "--", LoC style (Lịch sử--Việt Nam--1945-1975)."""
    head = " ".join(
        sf.value.strip() for sf in field.subfields if sf.code in main and sf.value.strip()
    )
    parts = [_chop(head)] if head.strip() else []
    parts += [
        _chop(sf.value)
        for sf in field.subfields
        if sf.code in _SUBJECT_SUBDIVISIONS and sf.value.strip()
    ]
    return "--".join(p for p in parts if p)


# Leader/06 → DCMI Type vocabulary (crosswalk appendix); m, o, p, r have no type.
_LEADER_TYPES = {
    **dict.fromkeys("acdt", "Text"),
    **dict.fromkeys("efgk", "Image"),
    **dict.fromkeys("ij", "Sound"),
}
# Name parts of each heading, without relator terms ($e, $4) and control subfields.
_NAME_CODES = {
    **dict.fromkeys(("100", "700"), "abcdq"),
    **dict.fromkeys(("110", "710"), "abcdn"),
    **dict.fromkeys(("111", "711"), "acdenq"),
    "720": "a",
}


def _fields(record: pymarc.Record, *tags: str) -> list[pymarc.Field]:
    return [f for f in record.fields if f.tag in tags and not f.is_control_field()]


def _control(record: pymarc.Record, tag: str) -> str:
    for field in record.fields:
        if field.tag == tag and field.is_control_field():
            return field.data or ""
    return ""


def dublin_core(record: pymarc.Record) -> dict[str, list[str]]:
    """The crosswalk proper: DC element name → values, in DC order, duplicates removed."""
    dc: dict[str, list[str]] = {}
    fixed = _control(record, "008")
    leader = str(record.leader).ljust(24)

    def add(element: str, value: str) -> None:
        value = _text(value).strip()
        if value and value not in dc.setdefault(element, []):
            dc[element].append(value)

    for f in _fields(record, "245"):
        add("title", _joined(f, "abfgknps"))
    for f in _fields(record, "246"):
        add("title", _joined(f, "abnp"))
    for f in _fields(record, "100", "110", "111"):
        add("creator", _joined(f, _NAME_CODES[f.tag]))
    for f in _fields(record, "050", "060", "080", "082"):
        add("subject", _joined(f, "ab"))
    for f in _fields(record, "600", "610", "611", "630", "650"):
        add("subject", _subject(f, "abcdqt" if f.tag in ("600", "610", "611") else "ab"))
    for f in _fields(record, "653"):
        for value in _values(f, "a"):
            add("subject", _chop(value))
    for f in record.fields:
        if (
            f.tag.isdigit()
            and "500" <= f.tag <= "599"
            and f.tag not in ("506", "530", "540", "546")
            and not f.is_control_field()
        ):
            add("description", _joined(f))
    for f in _fields(record, "260") + [f for f in _fields(record, "264") if f.indicator2 == "1"]:
        add("publisher", _chop(" ".join(_values(f, "ab"))))
    for f in _fields(record, "700", "710", "711", "720"):
        add("contributor", _joined(f, _NAME_CODES[f.tag]))
    year = fixed[7:11]
    if len(fixed) >= 11 and year.isdigit():
        add("date", year)
    for f in _fields(record, "260") + [f for f in _fields(record, "264") if f.indicator2 == "1"]:
        for value in _values(f, "cg"):
            add("date", _chop(value))
    if leader[6] in _LEADER_TYPES:
        add("type", _LEADER_TYPES[leader[6]])
    if leader[7] in "cs":
        add("type", "Collection")
    for f in _fields(record, "655"):
        add("type", _joined(f, "a"))
    for f in _fields(record, "340"):
        add("format", _joined(f))
    for f in _fields(record, "856"):
        for value in _values(f, "q"):
            add("format", value)
    for f in _fields(record, "020", "022", "024"):
        for value in _values(f, "a"):
            add("identifier", value)
    for f in _fields(record, "856"):
        for value in _values(f, "u"):
            add("identifier", value)
    for f in _fields(record, "534"):
        for value in _values(f, "t"):
            add("source", _chop(value))
    for f in _fields(record, "786"):
        add("source", _joined(f, "ot"))
    language = fixed[35:38]
    if re.fullmatch(r"[a-z]{3}", language):
        add("language", language)
    for f in _fields(record, "041"):
        for value in _values(f, "abdefghj"):
            # Older records pack several codes in one subfield ("engvie").
            packed = re.fullmatch(r"([a-z]{3})+", value)
            for code in re.findall(r"[a-z]{3}", value) if packed else [value]:
                add("language", code)
    for f in _fields(record, "546"):
        add("language", _joined(f, "ab"))
    for f in _fields(record, "530"):
        add("relation", _joined(f))
    for f in record.fields:
        if f.tag.isdigit() and "760" <= f.tag <= "787" and f.tag != "786" and f.subfields:
            add("relation", _joined(f, "ot"))
    for f in _fields(record, "651"):
        add("coverage", _subject(f, "a"))
    for f in _fields(record, "662", "751", "752"):
        add("coverage", _joined(f))
    for f in _fields(record, "506", "540"):
        add("rights", _joined(f))
    return {key: values for key, values in dc.items() if values}


#: The fifteen DC elements in the order of the element set.
DC_ELEMENTS = (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights",
)  # fmt: skip


def oai_dc(record: pymarc.Record) -> etree._Element:
    """``record`` as an ``<oai_dc:dc>`` element."""
    root = etree.Element(
        f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS}
    )
    root.set(_XSI_LOCATION, f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
    values = dublin_core(record)
    for element in DC_ELEMENTS:
        for value in values.get(element, ()):
            etree.SubElement(root, f"{_DC}{element}").text = value
    return root
