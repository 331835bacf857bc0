"""Clustering keys: which records of different libraries describe the same edition.

Each library catalogues the same book its own way: ISBN with or without hyphens, as ISBN-10
or ISBN-13, title with or without diacritics, a leading article counted in 245's second
indicator or not. The union catalogue shows one result per edition, so records are linked
into clusters (never merged away) by:

1. a shared normalised ISBN (020 $a and $z, ISBN-10 made ISBN-13), or else
2. the *work key*: normalised title (245 $a $n $p, non-filing characters dropped), full first
   author (1XX), year (008/07-10, else 260/264 $c) and material type (leader/06-07);

and then :func:`same_edition` checks that would keep different editions apart even when the
key agrees: year, edition statement (250), extent (300 $a pages), format (leader type,
300 $c size), subtitle and publisher.

Tuned for Vietnamese: syllables are short and one surname (Nguyễn) covers a large share of
authors, so the author part is the *whole* name, folded, never the surname alone, and the
title key keeps every syllable (no "first N letters" truncation as in older union-catalogue
keys, which would make *Thơ Nguyễn Du* and *Thơ Nguyễn Duy* one key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pymarc

from libext.search.folding import fold, fold_tokens
from marc.extract import Extracted, RecordLike, extract, trim_punctuation
from marc.pickling import flat_pickle

__all__ = ["EditionFacts", "edition_facts", "edition_number", "same_edition", "title_key"]

# Leading articles dropped from the title key even when 245's second indicator says 0: some
# libraries forget to count them, and the key must agree. Only for the record's language
# (English when unknown), so a Vietnamese title starting with "A" keeps it.
_ARTICLES = {
    "eng": {"the", "a", "an"},
    "fre": {"le", "la", "les", "l", "un", "une"},
    "ger": {"der", "die", "das", "ein", "eine"},
    "spa": {"el", "la", "los", "las", "un", "una"},
    "ita": {"il", "lo", "la", "i", "gli", "le", "l", "un", "una"},
    "por": {"o", "a", "os", "as", "um", "uma"},
    "dut": {"de", "het", "een"},
}

_NUMBER_WORDS = {
    # English and French ordinals as written in 250 $a.
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
    "premiere": 1, "deuxieme": 2, "troisieme": 3, "quatrieme": 4,
}  # fmt: skip
# Vietnamese numerals, folded. Only read after "lần"/"thứ" ("tái bản lần thứ hai"): folded,
# "nam" is also năm (year) and "tu" also từ (from).
_VI_NUMBER_WORDS = {
    "nhat": 1, "mot": 1, "hai": 2, "ba": 3, "tu": 4, "bon": 4, "nam": 5, "sau": 6,
    "bay": 7, "tam": 8, "chin": 9, "muoi": 10,
}  # fmt: skip
_ORDINAL_DIGITS = re.compile(r"^(\d{1,3})(?:st|nd|rd|th|e|er|eme|re|a|o)?$")
# "In lần thứ 3" (third printing) and "reprint" restate the same edition.
_PRINTING_ONLY = re.compile(r"\b(?:in lan|lan in|reprint|printing|impression|tirage)\b")
_PAGES = re.compile(r"(\d{1,5})\s*(?:tr|trang|p|pp|pages?|s|f|fol|leaves)\b", re.I)
_NUMBER = re.compile(r"\d{1,5}")
_CM = re.compile(r"(\d{1,3})(?:[.,]\d)?\s*(?:cm|mm)", re.I)


@flat_pickle
@dataclass(frozen=True, slots=True)
class EditionFacts:
    """What clustering compares about one record (all text folded)."""

    isbns: tuple[str, ...] = ()
    title: str = ""
    subtitle: str = ""
    author: str = ""
    year: int | None = None
    material_type: str = ""
    edition: int | None = None
    pages: int | None = None
    size_cm: int | None = None
    publisher: frozenset[str] = frozenset()

    @property
    def work_key(self) -> str:
        """Title | author | year | type: records with the same work key are candidates."""
        return f"{self.title}|{self.author}|{self.year or ''}|{self.material_type}"

    @property
    def key(self) -> str:
        """The key shown to cataloguers: ``isbn:<ISBN-13>`` when there is one, else the work key."""
        return f"isbn:{self.isbns[0]}" if self.isbns else f"work:{self.work_key}"


def title_key(title: str, nonfiling: int = 0, language: str = "") -> str:
    """Folded title tokens without non-filing characters or a leading article."""
    if 0 < nonfiling < len(title):
        title = title[nonfiling:]
    tokens = fold_tokens(title)
    articles = _ARTICLES.get(language or "eng", set())
    if nonfiling == 0 and len(tokens) > 1 and tokens[0] in articles:
        tokens = tokens[1:]
    return " ".join(tokens)


def edition_number(statement: str) -> int | None:
    """The edition number in a 250 $a ("Tái bản lần thứ 2", "3rd ed.", "2e éd."), or None.

    A statement of a new printing only ("In lần thứ 3") names no new edition: None.
    """
    folded = fold(statement)
    if not folded.strip() or (_PRINTING_ONLY.search(folded) and "tai ban" not in folded):
        return None
    previous = ""
    for token in fold_tokens(folded):
        digits = _ORDINAL_DIGITS.match(token)
        if digits:
            return int(digits.group(1))
        if token in _NUMBER_WORDS:
            return _NUMBER_WORDS[token]
        if previous in ("lan", "thu") and token in _VI_NUMBER_WORDS:
            return _VI_NUMBER_WORDS[token]
        previous = token
    return None


def _subfields(fld: pymarc.Field, codes: str) -> list[str]:
    return [trim_punctuation(s.value) for s in fld.subfields if s.code in codes and s.value]


def _language(record: RecordLike) -> str:
    f008 = record.get("008")
    data = f008.data if f008 is not None and f008.is_control_field() else ""
    return (data or "")[35:38].strip().lower() if data and len(data) >= 38 else ""


def edition_facts(record: RecordLike, data: Extracted | None = None) -> EditionFacts:
    """Compute the clustering facts of one MARC record; never raises on odd records.

    ``data``, the record's :func:`~marc.extract.extract` (``full`` or not) when the caller
    has it, spares working out its authors, year, ISBNs and publisher again.
    """
    if data is None:
        data = extract(record, full=False)
    f245 = record.get("245")
    title = subtitle = ""
    if f245 is not None and not f245.is_control_field():
        main = " ".join(_subfields(f245, "a"))
        ind2 = f245.indicator2 or "0"
        nonfiling = int(ind2) if ind2.isdigit() else 0
        # $n/$p (part number and name) keep volumes of a set apart: "Tập 1" is not "Tập 2".
        parts = " ".join(_subfields(f245, "np"))
        title = title_key(main, nonfiling, _language(record))
        if parts:
            title = f"{title} {' '.join(fold_tokens(parts))}".strip()
        subtitle = " ".join(fold_tokens(" ".join(_subfields(f245, "b"))))
    authors = data.authors
    main_entry = any(record.get_fields("100", "110", "111"))
    # The full name, folded, tokens sorted: "Tolstoy, Leo" and "Leo Tolstoy" agree, and
    # Nguyễn Du is never confused with Nguyễn Duy or any other Nguyễn.
    author = " ".join(sorted(fold_tokens(authors[0]))) if authors and main_entry else ""
    leader = str(record.leader)
    edition = None
    for fld in record.get_fields("250"):
        edition = edition_number(" ".join(_subfields(fld, "ab")))
        if edition is not None:
            break
    pages = size = None
    for fld in record.get_fields("300"):
        extent = " ".join(_subfields(fld, "a"))
        numbers = [int(n) for n in _PAGES.findall(extent)] or [
            int(n) for n in _NUMBER.findall(extent)
        ]
        pages = max(numbers) if numbers else None
        dims = _CM.search(" ".join(_subfields(fld, "c")))
        if dims:
            size = int(dims.group(1))
            if "mm" in dims.group(0).lower():
                size = round(size / 10)
        break
    return EditionFacts(
        isbns=tuple(data.isbns),
        title=title,
        subtitle=subtitle,
        author=author,
        year=data.year,
        material_type=leader[6:8].strip() if len(leader) >= 8 else "",
        edition=edition,
        pages=pages,
        size_cm=size,
        publisher=frozenset(fold_tokens(data.publisher)) - _PUBLISHER_NOISE,
    )


# Words that say "a publisher" rather than which one ("NXB Văn học" vs "Văn học").
_PUBLISHER_NOISE = frozenset(
    {"nxb", "nha", "xuat", "ban", "publisher", "publishers", "publishing", "press", "inc", "ltd"}
)


def _similar(a: str, b: str) -> bool:
    """True when two folded strings share at least half their tokens (or one is empty)."""
    if not a or not b:
        return True
    ta, tb = set(a.split()), set(b.split())
    return len(ta & tb) * 2 >= min(len(ta), len(tb)) and bool(ta & tb)


def same_edition(a: EditionFacts, b: EditionFacts) -> bool:
    """True when ``a`` and ``b`` may be linked as the same edition.

    Unknown values never block a match; known values that disagree always do.
    """
    if a.material_type[:1] != b.material_type[:1]:
        return False
    shared_isbn = bool(set(a.isbns) & set(b.isbns))
    if not shared_isbn:
        if a.isbns and b.isbns:
            return False  # both carry ISBNs and none agrees: different editions or bindings
        if (a.title, a.author, a.year) != (b.title, b.author, b.year) or not a.title:
            return False
    else:
        # Publishers do reuse ISBNs for other books: the titles must still agree somewhat.
        if not _similar(a.title, b.title):
            return False
        if a.year and b.year and abs(a.year - b.year) > 1:
            return False
    if a.edition and b.edition and a.edition != b.edition:
        return False
    if a.pages and b.pages and abs(a.pages - b.pages) > max(4, max(a.pages, b.pages) // 20):
        return False
    if a.size_cm and b.size_cm and abs(a.size_cm - b.size_cm) > 1:
        return False
    if not _similar(a.subtitle, b.subtitle):
        return False
    return not (a.publisher and b.publisher and not a.publisher & b.publisher)
