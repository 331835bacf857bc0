"""MARC 21 → the metadata formats the provider disseminates: MARCXML and oai_dc.

``marcxml`` writes a ``<marc:record>`` in the ``MARC21/slim`` namespace that validates against
MARC21slim.xsd whatever the stored record looks like: XML-illegal control characters are
dropped, blank indicators typed as ``#`` or ``\\`` become spaces, control fields come before
data fields, fields without a subfield or with a tag MARCXML cannot express are left out, and
a leader whose fixed positions are out of pattern is repaired position by position. (It is
stricter than ``marc.writer.record_to_xml_element`` on purpose: an OAI response with one
schema-invalid record is an invalid response, so broken records must still come out valid.)
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

import functools
import re
import unicodedata
from collections.abc import Sequence

import pymarc
from lxml import etree

from oai.source import HoldingInfo
from oai.xml import XSI_NS, clean_text

MARC_NS = "http://www.loc.gov/MARC21/slim"
MARC_SCHEMA = "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC_NS = "http://purl.org/dc/elements/1.1/"

_XSI_LOCATION = f"{{{XSI_NS}}}schemaLocation"
_M = f"{{{MARC_NS}}}"
_DC = f"{{{DC_NS}}}"

# MARC21slim.xsd value patterns.
_CONTROL_TAG = re.compile(r"00[1-9A-Za-z]")
_DATA_TAG = re.compile(
    r"0[1-9A-Z][0-9A-Z]|0[1-9a-z][0-9a-z]|[1-9A-Z][0-9A-Z]{2}|[1-9a-z][0-9a-z]{2}"
)
# What each leader position may hold, with the value a bad one is replaced by.
_LEADER_RULES: tuple[tuple[str, str], ...] = (
    *((r"[\d ]", "0"),) * 5,
    (r"[\dA-Za-z ]", " "),  # 05 record status
    (r"[\dA-Za-z]", "a"),  # 06 type of record: required; "a" (language material) if unusable
    *((r"[\dA-Za-z ]", " "),) * 3,
    (r"[2 ]", "2"),  # 10 indicator count
    (r"[2 ]", "2"),  # 11 subfield code count
    *((r"[\d ]", "0"),) * 5,  # 12-16 base address
    *((r"[\dA-Za-z ]", " "),) * 3,
)
_LEADER_COMPILED = tuple((re.compile(pattern), fallback) for pattern, fallback in _LEADER_RULES)
# The whole leader as MARC21slim.xsd wants it, leader/09 "a" included: the usual case.
_GOOD_LEADER = re.compile(
    r"[\d ]{5}[\dA-Za-z ][\dA-Za-z][\dA-Za-z ]{2}a[2 ]{2}[\d ]{5}[\dA-Za-z ]{3}(4500|    )"
)
# Per-value checks run for every field of every record: set lookups, not regexes.
_INDICATORS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz ")
_SUBFIELD_CODES = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\"#$%&'()*+,-./:;<=>?{}_^`~[]\\"
)


@functools.lru_cache(maxsize=1024)
def _is_data_tag(tag: str) -> bool:
    return _DATA_TAG.fullmatch(tag) is not None


def repair_leader(leader: str) -> str:
    """A 24-character leader that MARC21slim.xsd accepts, changing only unusable positions,
    with leader/09 ``a``: the XML is Unicode whatever the stored record declared."""
    if _GOOD_LEADER.fullmatch(leader):
        return leader
    leader = clean_text(str(leader)).ljust(24)[:24]
    chars = [
        char if pattern.fullmatch(char) else fallback
        for char, (pattern, fallback) in zip(leader[:20], _LEADER_COMPILED, strict=True)
    ]
    chars[9] = "a"
    entry_map = leader[20:24]
    return "".join(chars) + (entry_map if entry_map in ("4500", "    ") else "4500")


def _text(value: str) -> str:
    """Field data for XML: NFC (a host ILS may store decomposed Vietnamese), no illegal chars."""
    value = clean_text(value)
    if value.isascii() or unicodedata.is_normalized("NFC", value):
        return value
    return unicodedata.normalize("NFC", value)


def _indicator(value: str | None) -> str:
    # Blank indicators arrive typed as "#" (the printed convention), "\\" (MARCMaker) or "_".
    return value if value in _INDICATORS else " "


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


def _escape(value: str) -> str:
    """``value`` as XML character data or attribute content: NFC, illegal characters dropped,
    markup characters escaped. Most MARC values need none of it, and pay one regex search."""
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    if _NEEDS_ESCAPING.search(value) is None:
        return value
    return (
        clean_text(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


_NEEDS_ESCAPING = re.compile('[&<>"\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')


_RECORD_OPEN = (
    f'<marc:record xmlns:marc="{MARC_NS}" xmlns:xsi="{XSI_NS}" '
    f'xsi:schemaLocation="{MARC_NS} {MARC_SCHEMA}">'
)


def _plain(value: str) -> str:
    return value


def _all_plain(fields: Sequence[pymarc.Field]) -> bool:
    """Whether no value of ``fields`` needs escaping or normalising (the usual case), checked
    on all of them at once: two C-level scans instead of two per value."""
    values: list[str] = []
    for field in fields:
        if field.is_control_field():
            values.append(field.data or "")
        else:
            values.extend(sf.value or "" for sf in field.subfields)
            values.extend(sf.code for sf in field.subfields)
    blob = "|".join(values)  # a separator no check reacts to, so values cannot merge
    return _NEEDS_ESCAPING.search(blob) is None and (
        blob.isascii() or unicodedata.is_normalized("NFC", blob)
    )


def marcxml_text(record: pymarc.Record, holdings: Sequence[HoldingInfo] = ()) -> str:
    """``record`` as the text of a schema-valid MARCXML ``<marc:record>`` element.

    Written as text because a ListRecords page holds thousands of subfields: building each
    element from Python, then serialising, costs several times more than this. Every value
    goes through :func:`_escape` unless none needs it, so the text is always well-formed
    (tests parse and validate it against MARC21slim.xsd for every record of the shared MARC
    samples, and with markup and control characters in values).
    """
    fields = list(record.fields)
    if holdings:
        fields = [f for f in fields if f.tag not in ("852", "952")]
        fields += [holding_field(h) for h in holdings]
    esc = _plain if _all_plain(fields) else _escape
    leader = str(record.leader)
    if len(leader) == 24:
        leader = leader[:9] + "a" + leader[10:]
    parts = [_RECORD_OPEN, "<marc:leader>", repair_leader(leader), "</marc:leader>"]
    # MARC21slim wants every controlfield before the first datafield; badly built records
    # interleave them, so control fields are written in a first pass.
    for field in fields:
        if field.is_control_field() and _CONTROL_TAG.fullmatch(field.tag):
            parts.append(
                f'<marc:controlfield tag="{field.tag}">{esc(field.data or "")}</marc:controlfield>'
            )
    for field in fields:
        tag = field.tag
        if field.is_control_field() or not _is_data_tag(tag):
            continue  # a tag MARCXML cannot express (e.g. "000" or mixed-case)
        subfields = [
            f'<marc:subfield code="{esc(sf.code)}">{esc(sf.value or "")}</marc:subfield>'
            for sf in field.subfields
            if sf.code in _SUBFIELD_CODES
        ]
        if not subfields:
            continue  # MARC21slim.xsd requires at least one subfield
        parts.append(
            f'<marc:datafield tag="{tag}" ind1="{_indicator(field.indicator1)}" '
            f'ind2="{_indicator(field.indicator2)}">{"".join(subfields)}</marc:datafield>'
        )
    parts.append("</marc:record>")
    return "".join(parts)


def marcxml(record: pymarc.Record, holdings: Sequence[HoldingInfo] = ()) -> etree._Element:
    """``record`` as a schema-valid MARCXML ``<marc:record>`` element, holdings as 852."""
    return etree.fromstring(marcxml_text(record, holdings), _PARSER)


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


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
