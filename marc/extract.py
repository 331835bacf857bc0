"""Extract the fields that search, matching, clustering and OAI need from a MARC 21 record.

One small named function per concept (as dojson and Open Library's MARC code do), each
commenting the data quirks it copes with. Everything returned is NFC text with ISBD
punctuation trimmed; nothing here raises on odd records: a missing or garbled field simply
gives an empty value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import pymarc

from marc.isbn import isbn_candidates, normalize_issn

__all__ = [
    "ByTag",
    "Extracted",
    "HoldingData",
    "RecordLike",
    "complete",
    "extract",
    "holdings_from_record",
    "trim_punctuation",
]


@dataclass(slots=True)
class HoldingData:
    """A copy described by an 852 (MARC holdings) or a Koha 952 (item) field."""

    call_number: str = ""
    barcode: str = ""
    location: str = ""
    status: str = ""
    institution: str = ""


@dataclass(slots=True)
class Extracted:
    """What libext keeps beside the MARC record itself."""

    control_number: str = ""
    control_org: str = ""
    system_numbers: list[str] = field(default_factory=list)
    title: str = ""
    title_nonfiling: int = 0
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    isbns: list[str] = field(default_factory=list)
    issns: list[str] = field(default_factory=list)
    publisher: str = ""
    place: str = ""
    edition: str = ""
    extent: str = ""
    language: str = ""
    material_type: str = ""
    subjects: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_TRAILING = re.compile(r"[\s/:;,=+]+$")
# A final period after a single capital ("Rowling, J. K.") or an abbreviation is part of the
# name; after anything else it is ISBD punctuation.
_KEEP_PERIOD = re.compile(r"(?:\b[A-ZĐ]|\b(?:tr|tp|nxb|ed|co|inc|jr|st|dr|vol|t))\.$", re.I)


#: What :data:`_TRAILING` strips, as far as ASCII goes (``str.rstrip`` is a C loop).
_TRAILING_CHARACTERS = " \t\n\r\f\v/:;,=+"
#: Last characters after which :func:`trim_punctuation` has nothing to strip.
_NOTHING_TO_TRIM = frozenset(" \t\n\r/:;,=+.")


def trim_punctuation(text: str) -> str:
    """Strip ISBD punctuation (`` /``, `` :``, ``;``, ``,``, a final period) and spaces."""
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.strip()
    if not text or text[-1] not in _NOTHING_TO_TRIM:
        return text  # most values end in a letter or digit: nothing to strip
    while True:
        text = text.rstrip(_TRAILING_CHARACTERS)
        if text and text[-1].isspace():  # a space outside ASCII (what \s also matches)
            text = _TRAILING.sub("", text)
        if not text.endswith(".") or _KEEP_PERIOD.search(text):
            return text
        text = text[:-1].rstrip()


class ByTag:
    """A record's fields grouped by tag, with pymarc's ``get_fields``/``get`` reading.

    pymarc looks a tag up by walking every field; extraction asks for some twenty tags per
    record, so grouping once makes it several times cheaper. Functions here accept either.
    """

    __slots__ = ("_by_tag", "fields", "leader")

    def __init__(self, record: pymarc.Record) -> None:
        by_tag: dict[str, list[pymarc.Field]] = {}
        for fld in record.fields:
            by_tag.setdefault(fld.tag, []).append(fld)
        self._by_tag = by_tag
        self.fields = record.fields
        self.leader = record.leader

    def get_fields(self, *tags: str) -> list[pymarc.Field]:
        """The fields with any of ``tags``, in record order."""
        if len(tags) == 1:
            return self._by_tag.get(tags[0], [])
        return [fld for fld in self.fields if fld.tag in tags]

    def get(self, tag: str, default: pymarc.Field | None = None) -> pymarc.Field | None:
        """The first field with ``tag``."""
        fields = self._by_tag.get(tag)
        return fields[0] if fields else default


#: What the extraction functions read: a pymarc record, or its fields grouped by tag.
RecordLike = pymarc.Record | ByTag


def _values(record: RecordLike, tag: str, codes: str) -> list[str]:
    out: list[str] = []
    for fld in record.get_fields(tag):
        if fld.is_control_field():
            continue
        for sub in fld.subfields:
            if sub.code in codes and sub.value and sub.value.strip():
                out.append(trim_punctuation(sub.value))
    return [v for v in out if v]


def _control(record: RecordLike, tag: str) -> str:
    fld = record.get(tag)
    if fld is None or not fld.is_control_field():
        return ""
    return (fld.data or "").strip()


def title_of(record: RecordLike) -> tuple[str, int]:
    """245 $a $b $n $p joined, and the non-filing character count from indicator 2."""
    fld = record.get("245")
    if fld is None or fld.is_control_field():
        return "", 0
    parts = [trim_punctuation(s.value) for s in fld.subfields if s.code in "abnp" and s.value]
    title = " : ".join(p for p in parts[:2] if p)
    if len(parts) > 2:
        title = ". ".join([title, *[p for p in parts[2:] if p]])
    ind2 = fld.indicator2 or "0"
    nonfiling = int(ind2) if ind2.isdigit() else 0
    return title, nonfiling


def authors_of(record: RecordLike) -> list[str]:
    """Main entry (100/110/111) first, then added entries (700/710/711), without repeats.

    Vietnamese personal names are entered in direct order ("Nguyễn Du"), foreign ones
    inverted ("Rowling, J. K."); both are kept as written.
    """
    names: list[str] = []
    for tag, codes in (
        ("100", "abcq"),
        ("110", "ab"),
        ("111", "a"),
        ("700", "abcq"),
        ("710", "ab"),
        ("711", "a"),
    ):
        for fld in record.get_fields(tag):
            name = " ".join(
                trim_punctuation(s.value) for s in fld.subfields if s.code in codes and s.value
            )
            name = trim_punctuation(name)
            if name and name not in names:
                names.append(name)
    return names


_YEAR = re.compile(r"(?<![0-9])(1[4-9][0-9]{2}|20[0-9]{2})(?![0-9])")


def year_of(record: RecordLike) -> int | None:
    """008/07-10 when it holds four digits, else the first year in 264/260 $c.

    008 date 1 may be "19uu" or blanks for unknown digits: then fall back to the imprint.
    """
    f008 = _control(record, "008")
    if len(f008) >= 11 and f008[7:11].isdigit():
        year = int(f008[7:11])
        if 1400 <= year <= 2100:
            return year
    for tag in ("264", "260"):
        for value in _values(record, tag, "c"):
            match = _YEAR.search(value)
            if match:
                return int(match.group(1))
    return None


def language_of(record: RecordLike) -> str:
    """008/35-37, else the first 041 $a; lower-case three-letter code or ''."""
    f008 = _control(record, "008")
    code = f008[35:38].strip().lower() if len(f008) >= 38 else ""
    if not re.fullmatch(r"[a-z]{3}", code) or code in ("und", "zxx", "|||"):
        langs = _values(record, "041", "a")
        code = langs[0][:3].lower() if langs else ""
    return code if re.fullmatch(r"[a-z]{3}", code) else ""


def imprint_of(record: RecordLike) -> tuple[str, str]:
    """(place, publisher) from 264 (RDA, indicator 2 '1' = publication) or 260 (AACR2)."""
    for fld in record.get_fields("264"):
        if (fld.indicator2 or " ") in "1 ":
            place = [trim_punctuation(s.value) for s in fld.subfields if s.code == "a"]
            pub = [trim_punctuation(s.value) for s in fld.subfields if s.code == "b"]
            if place or pub:
                return (place[0] if place else ""), (pub[0] if pub else "")
    places, pubs = _values(record, "260", "a"), _values(record, "260", "b")
    return (places[0] if places else ""), (pubs[0] if pubs else "")


def extract(record: RecordLike, *, full: bool = True) -> Extracted:
    """The extracted fields of one record.

    With ``full`` false only what the record row keeps is worked out (identifiers, title,
    authors, year, publisher, language, type; and the place, read with the publisher);
    edition, extent, subjects, series and notes, which only the search index uses, stay
    empty. A bulk load does this for every record it writes.
    """
    if not isinstance(record, ByTag):
        record = ByTag(record)
    title, nonfiling = title_of(record)
    place, publisher = imprint_of(record)
    leader = str(record.leader)
    isbn_raw = [
        s.value for f in record.get_fields("020") for s in f.subfields if s.code in "az" and s.value
    ]
    issns: list[str] = []
    for value in _values(record, "022", "ayz"):
        norm = normalize_issn(value)
        if norm and norm not in issns:
            issns.append(norm)
    data = Extracted(
        control_number=_control(record, "001"),
        control_org=_control(record, "003"),
        system_numbers=_values(record, "035", "a"),
        title=title,
        title_nonfiling=nonfiling,
        authors=authors_of(record),
        year=year_of(record),
        isbns=isbn_candidates(isbn_raw),
        issns=issns,
        publisher=publisher,
        place=place,
        language=language_of(record),
        material_type=leader[6:8] if len(leader) >= 8 else "",
    )
    if full:
        _add_search_fields(record, data)
    return data


def complete(record: RecordLike, data: Extracted) -> Extracted:
    """Fill in, in place, what ``extract(record, full=False)`` left empty; returns ``data``.

    A bulk load extracts the row's columns of every record, and the search index the rest
    of the same records: together they cost one full extraction.
    """
    _add_search_fields(record if isinstance(record, ByTag) else ByTag(record), data)
    return data


def _add_search_fields(record: ByTag, data: Extracted) -> None:
    subjects: list[str] = []
    for tag in ("650", "651", "600", "610", "630", "655"):
        for fld in record.get_fields(tag):
            heading = " -- ".join(
                trim_punctuation(s.value)
                for s in fld.subfields
                if s.code in "abcdqtvxyz" and s.value
            )
            if heading and heading not in subjects:
                subjects.append(heading)
    edition = _values(record, "250", "a")
    extent = _values(record, "300", "a")
    data.edition = edition[0] if edition else ""
    data.extent = extent[0] if extent else ""
    data.subjects = subjects
    data.series = _values(record, "490", "a") + _values(record, "830", "a")
    data.notes = _values(record, "500", "a") + _values(record, "520", "a")


def _first_values(fld: pymarc.Field) -> dict[str, str]:
    """Each subfield code's first value in ``fld``, stripped (what the holdings read).

    One pass over the field: asking pymarc for each code walks the field once per code.
    A first value that is empty stays: a later one of the same code is not read instead.
    """
    first: dict[str, str] = {}
    for code, value in fld.subfields:
        if code not in first:
            first[code] = value.strip() if value else ""
    return first


# Koha's 952 status subfields: $7 not for loan, $0 withdrawn, $1 lost, $4 damaged.
_KOHA_STATUS = (("0", "withdrawn"), ("1", "lost"), ("4", "damaged"), ("7", "not for loan"))


def holdings_from_record(record: RecordLike) -> list[HoldingData]:
    """Copies described by 852 (MARC 21 holdings) and 952 (Koha items) fields.

    852: $a institution, $b sublocation, $c shelving location, $h classification part,
    $i item part, $j shelving control number, $p piece designation (barcode), $x/$z notes.
    952 (Koha): $a home branch, $c shelving location, $o call number, $p barcode, and status
    flags where anything but empty or "0" means the copy is not simply available.
    """
    out: list[HoldingData] = []
    for fld in record.get_fields("852"):
        sub = _first_values(fld).get
        call = " ".join(v for v in (sub("h", ""), sub("i", "")) if v) or sub("j", "")
        location = " / ".join(v for v in (sub("b", ""), sub("c", "")) if v)
        out.append(
            HoldingData(
                call_number=call,
                barcode=sub("p", ""),
                location=location,
                status="available",
                institution=sub("a", ""),
            )
        )
    for fld in record.get_fields("952"):
        sub = _first_values(fld).get
        status = "available"
        for code, label in _KOHA_STATUS:
            flag = sub(code, "")
            if flag and flag != "0":
                status = label
                break
        out.append(
            HoldingData(
                call_number=sub("o", ""),
                barcode=sub("p", ""),
                location=sub("c", ""),
                status=status,
                institution=sub("a", ""),
            )
        )
    return out
