"""MARCXML output: the one writer behind exports, SRU, the search page and OAI-PMH.

Every record comes out as a ``record`` element that validates against MARC21slim.xsd,
whatever the stored record looks like, because one schema-invalid record makes a whole
export file or OAI response invalid:

* characters XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE/U+FFFF) are dropped
  and counted; all text is NFC (a host ILS may store decomposed Vietnamese);
* control fields are written before data fields (badly built records interleave them);
* blank indicators typed as ``#`` or ``\\`` (printed and MARCMaker conventions) become spaces;
* subfield codes, tags and fields the schema cannot express (tag ``000``, mixed-case tags,
  a data field left with no subfield) are left out and counted;
* a leader whose fixed positions are out of the schema's patterns is repaired position by
  position, with leader/09 ``a``: the XML is Unicode whatever the record declared.

The text is built directly rather than through lxml elements: a ListRecords page or an
export holds millions of subfields, and building then serialising elements costs several
times more. Every value goes through :func:`_escape` unless none needs it, so the text is
always well-formed (tests validate the output of every record of the shared MARC samples).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

import pymarc
from lxml import etree

MARC_NS = "http://www.loc.gov/MARC21/slim"
MARC_SCHEMA = "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{MARC_NS} {MARC_SCHEMA}"

# Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, surrogates, U+FFFE/FFFF).
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_ESCAPING = re.compile('[&<>"\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')

# MARC21slim.xsd value patterns.
_CONTROL_TAG = re.compile(r"00[1-9A-Za-z]")
_DATA_TAG = re.compile(
    r"0[1-9A-Z][0-9A-Z]|0[1-9a-z][0-9a-z]|[1-9A-Z][0-9A-Z]{2}|[1-9a-z][0-9a-z]{2}"
)
# What each leader position may hold, with the value a bad one is replaced by.
_LEADER_RULES: tuple[tuple[str, str], ...] = (
    *((r"[\d ]", "0"),) * 5,  # 00-04 record length
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
_HOLDING_TAGS = ("852", "952")


@functools.lru_cache(maxsize=1024)
def _is_data_tag(tag: str) -> bool:
    return _DATA_TAG.fullmatch(tag) is not None


def nfc(text: str) -> str:
    """``text`` in Unicode NFC (cheap for the usual ASCII or already-NFC text)."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def xml_text(text: str) -> tuple[str, int]:
    """``text`` in NFC without characters XML 1.0 forbids; returns (text, removed count)."""
    return XML_ILLEGAL.subn("", nfc(text))


def repair_leader(leader: str) -> str:
    """A 24-character leader that MARC21slim.xsd accepts, changing only unusable positions,
    with leader/09 ``a``."""
    leader = str(leader)
    if len(leader) == 24:
        leader = leader[:9] + "a" + leader[10:]
    if _GOOD_LEADER.fullmatch(leader):
        return leader
    leader = XML_ILLEGAL.sub("", leader).ljust(24)[:24]
    chars = [
        char if pattern.fullmatch(char) else fallback
        for char, (pattern, fallback) in zip(leader[:20], _LEADER_COMPILED, strict=True)
    ]
    chars[9] = "a"
    entry_map = leader[20:24]
    return "".join(chars) + (entry_map if entry_map in ("4500", "    ") else "4500")


def _indicator(value: str | None) -> str:
    # Blank indicators arrive typed as "#" (the printed convention), "\\" (MARCMaker) or "_".
    return value if value in _INDICATORS else " "


class _Escaper:
    """Escapes values and counts the characters it had to drop."""

    __slots__ = ("stripped",)

    def __init__(self) -> None:
        self.stripped = 0

    def __call__(self, value: str) -> str:
        value = nfc(value)
        if _NEEDS_ESCAPING.search(value) is None:
            return value
        value, removed = XML_ILLEGAL.subn("", value)
        self.stripped += removed
        return (
            value.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
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
            values.extend(sf.code or "" for sf in field.subfields)
    blob = "|".join(values)  # a separator no check reacts to, so values cannot merge
    return _NEEDS_ESCAPING.search(blob) is None and (
        blob.isascii() or unicodedata.is_normalized("NFC", blob)
    )


@functools.lru_cache(maxsize=8)
def _open_tag(prefix: str, declare: bool) -> str:
    if not declare:
        return f"<{prefix}:record>" if prefix else "<record>"
    if prefix:
        return (
            f'<{prefix}:record xmlns:{prefix}="{MARC_NS}" xmlns:xsi="{XSI_NS}" '
            f'xsi:schemaLocation="{SCHEMA_LOCATION}">'
        )
    return f'<record xmlns="{MARC_NS}">'


def marcxml_text(
    record: pymarc.Record,
    holdings: Sequence[pymarc.Field] | None = None,
    *,
    stats: dict[str, int] | None = None,
    prefix: str = "marc",
    declare: bool = True,
) -> str:
    """``record`` as the text of a schema-valid MARCXML ``record`` element.

    ``holdings``, when given and not empty, are 852 fields written in place of the record's
    own 852/952 fields (a source's holdings were read from those). By default the element is
    ``marc:``-prefixed and declares its namespace and schema location (an OAI ``<metadata>``
    child); ``prefix=""`` makes the MARC namespace the default one; ``declare=False`` leaves
    the declarations to an enclosing ``<collection>`` written by the caller. With ``stats``,
    ``stats["stripped"]`` counts the characters dropped and ``stats["dropped"]`` the fields
    and subfields MARCXML cannot express.
    """
    fields = list(record.fields)
    if holdings:
        fields = [f for f in fields if f.tag not in _HOLDING_TAGS]
        fields += list(holdings)
    escaper = None if _all_plain(fields) else _Escaper()
    esc = escaper or _plain
    p = f"{prefix}:" if prefix else ""
    dropped = 0
    parts = [
        _open_tag(prefix, declare),
        f"<{p}leader>{repair_leader(str(record.leader))}</{p}leader>",
    ]
    # MARC21slim wants every controlfield before the first datafield.
    for field in fields:
        if field.is_control_field():
            if _CONTROL_TAG.fullmatch(field.tag):
                data = esc(field.data or "")
                parts.append(f'<{p}controlfield tag="{field.tag}">{data}</{p}controlfield>')
            else:
                dropped += 1  # "000" or a control field under a data tag's name
    for field in fields:
        tag = field.tag
        if field.is_control_field():
            continue
        if not _is_data_tag(tag):
            dropped += 1  # a tag MARCXML cannot express (e.g. mixed-case)
            continue
        subfields = [
            f'<{p}subfield code="{esc(sf.code)}">{esc(sf.value or "")}</{p}subfield>'
            for sf in field.subfields
            if sf.code in _SUBFIELD_CODES
        ]
        dropped += len(field.subfields) - len(subfields)
        if not subfields:
            dropped += 1  # MARC21slim.xsd requires at least one subfield
            continue
        parts.append(
            f'<{p}datafield tag="{tag}" ind1="{_indicator(field.indicator1)}" '
            f'ind2="{_indicator(field.indicator2)}">{"".join(subfields)}</{p}datafield>'
        )
    parts.append(f"</{p}record>")
    if stats is not None:
        stats["stripped"] = stats.get("stripped", 0) + (escaper.stripped if escaper else 0)
        stats["dropped"] = stats.get("dropped", 0) + dropped
    return "".join(parts)


# Only ever given text this module wrote: huge_tree lets a record with very long fields
# (which outside XML may not have) become a tree.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def parse_written(text: str) -> etree._Element:
    """The element of MARCXML text written by :func:`marcxml_text` (trusted input)."""
    return etree.fromstring(text, _PARSER)


def record_to_xml_element(
    record: pymarc.Record,
    holdings: Sequence[pymarc.Field] | None = None,
    stats: dict[str, int] | None = None,
) -> etree._Element:
    """``record`` as a schema-valid ``record`` element in the MARC namespace (the default
    one, no prefix), for callers that build XML trees (SRU, the search page's download)."""
    return parse_written(marcxml_text(record, holdings, stats=stats, prefix=""))
