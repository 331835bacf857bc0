"""Build the demo network's MARC 21 files from ``libext/demo/books.py``.

Usage (from the repository root)::

    .venv/bin/python tools/build_demo_data.py           # write libext/demo/data/<CODE>.mrc, check
    .venv/bin/python tools/build_demo_data.py --check   # only check the files already there

Each library catalogues the editions it holds in its own house style (``STYLES``): the same
edition differs between libraries the way it does in a real network (ISBN written with or
without hyphens, ISBN-10 or -13 or left out, ISBD punctuation or none, subtitle kept or not,
AACR2 260 or RDA 264, 240 uniform title or a 500 note for translations, full or abridged DDC),
while the bibliographic facts stay the same.

The output is deterministic: nothing depends on the clock or on hash randomisation, so running
the script twice gives the same bytes. After writing, the files are read back with pymarc and
checked (see :func:`check`); the script exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from pymarc import Field, Indicators, MARCReader, Record, Subfield

ROOT = Path(__file__).resolve().parents[1]
BOOKS_PY = ROOT / "libext" / "demo" / "books.py"
DATA_DIR = ROOT / "libext" / "demo" / "data"


def _load_books() -> ModuleType:
    # Loaded by path rather than ``import libext.demo.books`` so that building the data needs
    # neither Flask nor a working ``libext`` package, only pymarc.
    spec = importlib.util.spec_from_file_location("demo_books", BOOKS_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


books = _load_books()
Edition = books.Edition


# --------------------------------------------------------------------------------------------
# ISBN arithmetic (check digits and hyphenation for the registration groups used here)
# --------------------------------------------------------------------------------------------


def isbn13_check(first12: str) -> str:
    """Return the ISBN-13 check digit for the first twelve digits."""
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def isbn10_check(first9: str) -> str:
    """Return the ISBN-10 check character (``0``-``9`` or ``X``) for the first nine digits."""
    total = sum((10 - i) * int(d) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def isbn_is_valid(value: str) -> bool:
    """True when ``value`` (hyphens allowed) is an ISBN-10 or ISBN-13 with a valid check digit."""
    digits = value.replace("-", "").upper()
    if re.fullmatch(r"\d{9}[\dX]", digits):
        return isbn10_check(digits[:9]) == digits[9]
    if re.fullmatch(r"97[89]\d{10}", digits):
        return isbn13_check(digits[:12]) == digits[12]
    return False


def issn_is_valid(value: str) -> bool:
    """True when ``value`` (``NNNN-NNNC``) has a valid ISSN check character."""
    digits = value.replace("-", "").upper()
    if not re.fullmatch(r"\d{7}[\dX]", digits):
        return False
    total = sum((8 - i) * int(d) for i, d in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    return ("X" if check == 10 else str(check)) == digits[7]


def to_isbn13(isbn: str) -> str:
    """ISBN-10 → ISBN-13 (978 prefix); an ISBN-13 is returned unchanged (digits only)."""
    digits = isbn.replace("-", "")
    if len(digits) == 13:
        return digits
    body = "978" + digits[:9]
    return body + isbn13_check(body)


def to_isbn10(isbn13: str) -> str | None:
    """ISBN-13 → ISBN-10, or None when the prefix is not 978 (979 has no ISBN-10 form)."""
    if not isbn13.startswith("978"):
        return None
    body = isbn13[3:12]
    return body + isbn10_check(body)


# Publisher-element ranges from the International ISBN Agency's range message, for the
# registration groups the demo uses: (group, [(low, high, length), ...]) compared on the
# first seven digits after the group.
_RANGES: dict[str, list[tuple[int, int, int]]] = {
    "0": [
        (0, 1999999, 2),
        (2000000, 6999999, 3),
        (7000000, 8499999, 4),
        (8500000, 8999999, 5),
        (9000000, 9499999, 6),
        (9500000, 9999999, 7),
    ],
    "1": [
        (0, 999999, 2),
        (1000000, 3999999, 3),
        (4000000, 5499999, 4),
        (5500000, 8697999, 5),
        (8698000, 9989999, 6),
        (9990000, 9999999, 7),
    ],
    "2": [
        (0, 1999999, 2),
        (2000000, 3499999, 3),
        (3500000, 3999999, 5),
        (4000000, 6999999, 3),
        (7000000, 8399999, 4),
        (8400000, 8999999, 5),
        (9000000, 9499999, 6),
        (9500000, 9999999, 7),
    ],
}

#: Vietnamese publisher elements come from books.VN_ISBN_PREFIX, longest first.
_VN_ELEMENTS = sorted(set(books.VN_ISBN_PREFIX.values()), key=len, reverse=True)


def hyphenate(isbn: str) -> str:
    """Hyphenate an ISBN-10 or ISBN-13 of the groups used by the demo data."""
    digits = isbn.replace("-", "")
    prefix = ""
    rest = digits
    if len(digits) == 13:
        prefix, rest = digits[:3] + "-", digits[3:]
    if rest.startswith("604"):
        body = rest[3:]
        element = next(e for e in _VN_ELEMENTS if body.startswith(e))
        title = body[len(element) : -1]
        return f"{prefix}604-{element}-{title}-{body[-1]}"
    group, body = rest[0], rest[1:]
    probe = int(body[:7])
    length = next(n for low, high, n in _RANGES[group] if low <= probe <= high)
    return f"{prefix}{group}-{body[:length]}-{body[length:-1]}-{body[-1]}"


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def generated_isbn(edition: Edition) -> str:
    """A plausible ISBN-13 inside the publisher's 978-604 element (see books.py: not real)."""
    element = books.VN_ISBN_PREFIX[edition.publisher]
    width = 6 - len(element)
    number = _digest("isbn", edition.key) % (10**width)
    body = f"978604{element}{number:0{width}d}"
    return body + isbn13_check(body)


def edition_isbn13(edition: Edition) -> str | None:
    """The edition's ISBN-13 (digits only), real or generated, or None when it has none."""
    if edition.isbn_source == "real":
        return to_isbn13(edition.isbn)
    if edition.isbn_source == "generated":
        return generated_isbn(edition)
    return None


# --------------------------------------------------------------------------------------------
# House styles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How one library catalogues: the differences a union catalogue has to live with."""

    isbd: bool  # ISBD punctuation in 245/250/26x/300
    rda: bool  # 264 _1 + 336/337/338 (else AACR2 260)
    isbn_form: str  # "hyphen13", "plain13", "plain10", "hyphen10"
    omit_isbn_one_in: int  # leave 020 out of one record in N (0: never)
    drop_subtitle: bool  # 245 $b not transcribed
    uniform_title: bool  # 240 for translations (else a 500 note)
    publisher_prefix: str  # how "Nxb " is written
    abridged_ddc: bool  # DDC cut to three decimals, $2 14
    summaries: bool  # 520 when the edition has one
    price: bool  # 020 $c price
    full_level: bool  # leader/17 blank (else 7, minimal level)
    id_pattern: str  # 001 format, filled with the record's sequence number
    id_start: int
    barcode_start: int
    subject_source: str  # 650 second indicator "4", or "7" with $2 below
    vocabulary: str = ""


STYLES: dict[str, Style] = {
    "HNM": Style(
        isbd=True,
        rda=True,
        isbn_form="hyphen13",
        omit_isbn_one_in=0,
        drop_subtitle=False,
        uniform_title=True,
        publisher_prefix="Nhà xuất bản ",
        abridged_ddc=False,
        summaries=True,
        price=False,
        full_level=True,
        id_pattern="{:08d}",
        id_start=15021,
        barcode_start=100231,
        subject_source="7",
        vocabulary="Bộ TK TVQG",
    ),
    "PLY": Style(
        isbd=True,
        rda=False,
        isbn_form="plain13",
        omit_isbn_one_in=0,
        drop_subtitle=False,
        uniform_title=True,
        publisher_prefix="Nxb. ",
        abridged_ddc=False,
        summaries=True,
        price=False,
        full_level=True,
        id_pattern="PL{:06d}",
        id_start=2210,
        barcode_start=5001,
        subject_source="4",
    ),
    "DTN": Style(
        isbd=False,
        rda=False,
        isbn_form="plain10",
        omit_isbn_one_in=0,
        drop_subtitle=False,
        uniform_title=False,
        publisher_prefix="Nxb ",
        abridged_ddc=False,
        summaries=False,
        price=False,
        full_level=True,
        id_pattern="DT{:05d}",
        id_start=871,
        barcode_start=12001,
        subject_source="4",
    ),
    "KBG": Style(
        isbd=False,
        rda=False,
        isbn_form="hyphen13",
        omit_isbn_one_in=3,
        drop_subtitle=True,
        uniform_title=False,
        publisher_prefix="",
        abridged_ddc=False,
        summaries=False,
        price=False,
        full_level=False,
        id_pattern="{:d}",
        id_start=3001,
        barcode_start=301,
        subject_source="4",
    ),
    "LNN": Style(
        isbd=True,
        rda=True,
        isbn_form="hyphen13",
        omit_isbn_one_in=0,
        drop_subtitle=False,
        uniform_title=True,
        publisher_prefix="Nxb ",
        abridged_ddc=False,
        summaries=True,
        price=True,
        full_level=True,
        id_pattern="LN-{:05d}",
        id_start=1406,
        barcode_start=7701,
        subject_source="7",
        vocabulary="Bộ TK TVQG",
    ),
    "TLM": Style(
        isbd=False,
        rda=False,
        isbn_form="plain13",
        omit_isbn_one_in=0,
        drop_subtitle=False,
        uniform_title=False,
        publisher_prefix="Nxb ",
        abridged_ddc=False,
        summaries=False,
        price=True,
        full_level=True,
        id_pattern="TL{:06d}",
        id_start=560,
        barcode_start=40001,
        subject_source="4",
    ),
    "BLC": Style(
        isbd=True,
        rda=False,
        isbn_form="hyphen10",
        omit_isbn_one_in=4,
        drop_subtitle=True,
        uniform_title=False,
        publisher_prefix="Nxb ",
        abridged_ddc=True,
        summaries=False,
        price=False,
        full_level=False,
        id_pattern="{:06d}",
        id_start=501,
        barcode_start=901,
        subject_source="4",
    ),
}


def parse_holders(holders: str) -> list[tuple[str, int]]:
    """``"HNM:2 PLY"`` → ``[("HNM", 2), ("PLY", 1)]``."""
    result = []
    for item in holders.split():
        code, _, copies = item.partition(":")
        if code not in books.LIBRARIES:
            raise ValueError(f"unknown library code {code!r} in holders {holders!r}")
        result.append((code, int(copies or 1)))
    return result


# --------------------------------------------------------------------------------------------
# Field builders
# --------------------------------------------------------------------------------------------

_ARTICLES = {
    "eng": ("The ", "A ", "An "),
    "fre": ("Les ", "Le ", "La ", "L'", "Un ", "Une "),
}


def nonfiling(title: str, lang: str) -> str:
    """245/240 second indicator: characters of a leading article a catalogue skips."""
    for article in _ARTICLES.get(lang, ()):
        if title.startswith(article):
            return str(len(article))
    return "0"


def fold_ascii(text: str) -> str:
    """Strip Vietnamese diacritics (đ → d) for call-number cutters."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def cutter(edition: Edition) -> str:
    """Author mark as Vietnamese public libraries write it: ``NG-D`` for Nguyễn Du.

    Vietnamese names in direct order take the first two letters of the first word and the
    initial of the last; inverted names the first two letters of the surname and the initial of
    the forename; works entered under title the title's first two words.
    """
    if edition.authors and not edition.title_main:
        name = edition.authors[0]
        if "," in name:
            surname, forename = (part.strip() for part in name.split(",", 1))
            words = [surname, forename]
        else:
            words = name.split()
    else:
        words = edition.title.split()
    words = [fold_ascii(w).upper() for w in words if w[0].isalnum()]
    first, last = words[0], words[-1] if len(words) > 1 else ""
    return f"{first[:2]}-{last[:1]}" if last else first[:2]


def ddc_for(edition: Edition, style: Style) -> str:
    """The DDC number as this library assigns it (abridged libraries cut it short)."""
    if not style.abridged_ddc or "." not in edition.ddc:
        return edition.ddc
    whole, decimals = edition.ddc.split(".")
    return f"{whole}.{decimals[:3]}"


def punctuate(parts: list[tuple[str, str]], isbd: bool, final: str = ".") -> list[Subfield]:
    """Add ISBD punctuation: each subfield ends with the mark that introduces the next one."""
    marks = {"b": " :", "c": " /", "n": ".", "p": ",", "l": "."}
    subfields = []
    for i, (code, value) in enumerate(parts):
        if isbd:
            if i + 1 < len(parts):
                value += marks.get(parts[i + 1][0], "")
            elif final and value[-1] not in ".?!-":
                value += final
        subfields.append(Subfield(code, value))
    return subfields


def name_field(tag: str, name: str, role: str = "") -> Field:
    """100/700 for a person: surname-first names take indicator 1, direct-order names 0.

    Vietnamese names are entered in direct order per Vietnamese cataloguing practice.
    """
    ind1 = "1" if "," in name else "0"
    subfields = [Subfield("a", name)]
    if role:
        subfields[0] = Subfield("a", name + ",")
        subfields.append(Subfield("e", role))
    return Field(tag=tag, indicators=Indicators(ind1, " "), subfields=subfields)


def date_entered(code: str, edition: Edition) -> str:
    """008/00-05: when the library catalogued it (deterministic, never before publication)."""
    h = _digest("entered", code, edition.key)
    year = min(max(edition.year, 2008) + h % 4, 2025)
    return f"{year % 100:02d}{1 + h // 7 % 12:02d}{1 + h // 101 % 28:02d}"


def field_008(code: str, edition: Edition) -> str:
    """The 40-character 008 for the edition's material type."""
    kind = edition.kind
    head = date_entered(code, edition)
    lang = edition.lang
    if kind == "as":
        middle = f"{edition.frequency}r p       0    0"
        value = f"{head}c{edition.year}9999{edition.country}{middle}{lang} d"
    else:
        dates = f"s{edition.year}    "
        if kind == "em":
            map_type = "e" if "tập bản đồ" in edition.extent else "a"
            middle = f"       {map_type}         "
        elif kind == "gm":
            minutes = re.search(r"(\d+) phút", edition.extent)
            running = f"{int(minutes.group(1)):03d}" if minutes else "---"
            middle = f"{running}            vl"
        else:
            illus = "a   " if edition.illus else "    "
            audience = "j" if edition.juvenile else " "
            contents = "d   " if "Từ điển" in edition.subjects else "    "
            biography = "a" if {"Hồi ký", "Nhật ký"} & set(edition.subjects) else " "
            middle = f"{illus}{audience} {contents} 000 {edition.literary_form}{biography}"
        value = f"{head}{dates}{edition.country}{middle}{lang} d"
    if len(value) != 40:
        raise AssertionError(f"008 for {edition.key} is {len(value)} characters: {value!r}")
    return value


def leader(edition: Edition, style: Style) -> str:
    """Leader with type/level from the edition; length and base address are filled by pymarc."""
    level = " " if style.full_level else "7"
    form = "i" if style.rda else ("a" if style.isbd else "c")
    return f"00000n{edition.kind} a2200000{level}{form} 4500"


_CONTENT = {
    "am": ("văn bản", "txt", "không qua thiết bị", "n", "tập", "nc"),
    "as": ("văn bản", "txt", "không qua thiết bị", "n", "tập", "nc"),
    "em": ("hình ảnh bản đồ", "cri", "không qua thiết bị", "n", "tờ", "nb"),
    "gm": ("hình ảnh động hai chiều", "tdi", "video", "v", "đĩa video", "vd"),
}


def isbn_fields(code: str, edition: Edition, style: Style) -> list[Field]:
    """020 as this library writes it (or nothing)."""
    isbn13 = edition_isbn13(edition)
    if isbn13 is None:
        return []
    if style.omit_isbn_one_in and _digest("omit", code, edition.key) % style.omit_isbn_one_in == 0:
        return []  # the cataloguer skipped it, as happens
    printed_10 = edition.isbn_source == "real" and len(edition.isbn) == 10
    form = style.isbn_form
    if form.endswith("10") or (printed_10 and code != "PLY"):
        value = edition.isbn if printed_10 else to_isbn10(isbn13)
        if value is None:
            value = isbn13
        value = hyphenate(value) if form.startswith("hyphen") else value
    else:
        value = hyphenate(isbn13) if form.startswith("hyphen") else isbn13
    subfields = [Subfield("a", value)]
    if style.price and edition.price:
        subfields.append(Subfield("c", edition.price))
    return [Field(tag="020", indicators=Indicators(" ", " "), subfields=subfields)]


def publisher_name(edition: Edition, style: Style) -> str:
    """Vietnamese houses are written "Nxb X", "Nxb. X", "Nhà xuất bản X" or plain "X"."""
    name = edition.publisher
    if name.startswith("Nxb "):
        return style.publisher_prefix + name[4:]
    return name


def build_record(code: str, edition: Edition, number: int, barcodes: list[str]) -> Record:
    """One library's MARC record for one edition, with one 852 per copy."""
    style = STYLES[code]
    isil = books.LIBRARIES[code][1]
    record = Record(leader=leader(edition, style), force_utf8=True)
    record.add_field(Field(tag="001", data=style.id_pattern.format(number)))
    record.add_field(Field(tag="003", data=isil))
    record.add_field(Field(tag="008", data=field_008(code, edition)))

    record.add_ordered_field(*isbn_fields(code, edition, style))
    if edition.issn:
        record.add_ordered_field(
            Field(
                tag="022", indicators=Indicators("0", " "), subfields=[Subfield("a", edition.issn)]
            )
        )
    cataloguing = [Subfield("a", isil), Subfield("b", "vie")]
    if style.rda:
        cataloguing.append(Subfield("e", "rda"))
    cataloguing.append(Subfield("c", isil))
    record.add_ordered_field(
        Field(tag="040", indicators=Indicators(" ", " "), subfields=cataloguing)
    )
    if edition.orig_lang and edition.orig_lang != edition.lang:
        record.add_ordered_field(
            Field(
                tag="041",
                indicators=Indicators("1", " "),
                subfields=[Subfield("a", edition.lang), Subfield("h", edition.orig_lang)],
            )
        )
    record.add_ordered_field(
        Field(
            tag="082",
            indicators=Indicators("0", "4"),
            subfields=[
                Subfield("a", ddc_for(edition, style)),
                Subfield("2", "14" if style.abridged_ddc else "23"),
            ],
        )
    )

    main_entry = bool(edition.authors) and not edition.title_main
    if main_entry:
        record.add_ordered_field(name_field("100", edition.authors[0]))
    translated_from = edition.orig_title and edition.orig_lang and edition.orig_lang != edition.lang
    if translated_from and style.uniform_title and main_entry:
        language = {"vie": "Tiếng Việt", "eng": "English", "fre": "Français"}[edition.lang]
        record.add_ordered_field(
            Field(
                tag="240",
                indicators=Indicators("1", nonfiling(edition.orig_title, edition.orig_lang)),
                subfields=punctuate([("a", edition.orig_title), ("l", language)], style.isbd, ""),
            )
        )

    title_parts: list[tuple[str, str]] = [("a", edition.title)]
    if edition.part:
        title_parts.append(("n", edition.part))
    if edition.subtitle and not style.drop_subtitle:
        title_parts.append(("b", edition.subtitle))
    if edition.resp:
        title_parts.append(("c", edition.resp))
    record.add_ordered_field(
        Field(
            tag="245",
            indicators=Indicators(
                "1" if main_entry else "0", nonfiling(edition.title, edition.lang)
            ),
            subfields=punctuate(title_parts, style.isbd),
        )
    )
    if edition.edition:
        record.add_ordered_field(
            Field(
                tag="250",
                indicators=Indicators(" ", " "),
                subfields=punctuate([("a", edition.edition)], style.isbd),
            )
        )
    year = f"{edition.year}-" if edition.kind == "as" else str(edition.year)
    imprint = [("a", edition.place), ("b", publisher_name(edition, style)), ("c", year)]
    if style.isbd:
        imprint_sub = [
            Subfield("a", imprint[0][1] + " :"),
            Subfield("b", imprint[1][1] + ","),
            Subfield("c", year if year.endswith("-") else year + "."),
        ]
    else:
        imprint_sub = [Subfield(c, v) for c, v in imprint]
    if style.rda:
        record.add_ordered_field(
            Field(tag="264", indicators=Indicators(" ", "1"), subfields=imprint_sub)
        )
    else:
        record.add_ordered_field(
            Field(tag="260", indicators=Indicators(" ", " "), subfields=imprint_sub)
        )

    extent = edition.extent
    if style.rda:
        extent = re.sub(r"(\d+) tr\.", r"\1 trang", extent)
        extent = re.sub(r"(\d+) p\.", r"\1 pages", extent)
    physical = [("a", extent)]
    if edition.illus:
        physical.append(("b", edition.illus))
    physical.append(("c", edition.size))
    record.add_ordered_field(
        Field(
            tag="300",
            indicators=Indicators(" ", " "),
            subfields=_physical_isbd(physical)
            if style.isbd
            else [Subfield(c, v) for c, v in physical],
        )
    )
    if style.rda:
        content, ccode, media, mcode, carrier, kcode = _CONTENT[edition.kind]
        if "tập" in edition.extent:  # an atlas or a multi-volume set comes in volumes
            carrier, kcode = "tập", "nc"
        for tag, term, term_code, source in (
            ("336", content, ccode, "rdacontent"),
            ("337", media, mcode, "rdamedia"),
            ("338", carrier, kcode, "rdacarrier"),
        ):
            record.add_ordered_field(
                Field(
                    tag=tag,
                    indicators=Indicators(" ", " "),
                    subfields=[
                        Subfield("a", term),
                        Subfield("b", term_code),
                        Subfield("2", source),
                    ],
                )
            )
    if edition.frequency:
        record.add_ordered_field(
            Field(
                tag="310",
                indicators=Indicators(" ", " "),
                subfields=[Subfield("a", {"m": "Hằng tháng"}[edition.frequency])],
            )
        )
    if edition.series:
        record.add_ordered_field(
            Field(
                tag="490",
                indicators=Indicators("0", " "),
                subfields=[Subfield("a", edition.series)],
            )
        )
    if translated_from and not (style.uniform_title and main_entry):
        record.add_ordered_field(
            Field(
                tag="500",
                indicators=Indicators(" ", " "),
                subfields=[Subfield("a", f"Tên sách nguyên bản: {edition.orig_title}")],
            )
        )
    if edition.summary and style.summaries:
        record.add_ordered_field(
            Field(
                tag="520",
                indicators=Indicators(" ", " "),
                subfields=[Subfield("a", edition.summary)],
            )
        )
    for subject in edition.subjects:
        subfields = [Subfield("a", subject)]
        if style.subject_source == "7":
            subfields.append(Subfield("2", style.vocabulary))
        record.add_ordered_field(
            Field(tag="650", indicators=Indicators(" ", style.subject_source), subfields=subfields)
        )
    for name in edition.authors[1:] if main_entry else edition.authors:
        record.add_ordered_field(name_field("700", name))
    for name, role in edition.contributors:
        record.add_ordered_field(name_field("700", name, role))
    if edition.corporate:
        ind1 = "1" if edition.corporate == "Việt Nam" else "2"
        record.add_ordered_field(
            Field(
                tag="710",
                indicators=Indicators(ind1, " "),
                subfields=[Subfield("a", edition.corporate)],
            )
        )

    call_number = f"{ddc_for(edition, style)} {cutter(edition)}"
    for copy, barcode in enumerate(barcodes):
        record.add_ordered_field(
            Field(
                tag="852",
                indicators=Indicators("1", " "),
                subfields=[
                    Subfield("a", isil),
                    Subfield("b", location(code, edition, copy)),
                    Subfield("h", call_number),
                    Subfield("p", barcode),
                ],
            )
        )
    return record


def _physical_isbd(parts: list[tuple[str, str]]) -> list[Subfield]:
    # 300 ISBD: "$a 143 tr. :$b tranh màu ;$c 21 cm" (the mark before $c is ";", not "/").
    marks = {"b": " :", "c": " ;"}
    return [
        Subfield(code, value + (marks[parts[i + 1][0]] if i + 1 < len(parts) else ""))
        for i, (code, value) in enumerate(parts)
    ]


def location(code: str, edition: Edition, copy: int) -> str:
    """852 $b: the room or stack the copy lives in."""
    if edition.kind == "as":
        return "Phòng báo - tạp chí"
    if edition.kind == "gm":
        return "Phòng đa phương tiện"
    if edition.kind == "em" or "Từ điển" in edition.subjects:
        return "Phòng tra cứu"
    if code == "HNM" and edition.local and copy == 0:
        return "Kho địa chí"
    if edition.juvenile:
        return "Phòng đọc thiếu nhi" if copy == 0 else "Kho mượn thiếu nhi"
    if edition.lang != "vie":
        return "Phòng đọc ngoại văn"
    return ("Kho mượn", "Phòng đọc tổng hợp", "Kho mượn")[copy % 3]


# --------------------------------------------------------------------------------------------
# Build and check
# --------------------------------------------------------------------------------------------


def build() -> dict[str, bytes]:
    """Return ``{code: ISO 2709 bytes}`` for every library, deterministically."""
    keys = [e.key for e in books.EDITIONS]
    duplicates = [k for k, n in Counter(keys).items() if n > 1]
    if duplicates:
        raise ValueError(f"duplicate edition keys: {duplicates}")
    for edition in books.EDITIONS:
        if edition.isbn and not isbn_is_valid(edition.isbn):
            raise ValueError(f"{edition.key}: ISBN {edition.isbn} has a wrong check digit")
    isbns = [i for i in map(edition_isbn13, books.EDITIONS) if i]
    clashes = [i for i, n in Counter(isbns).items() if n > 1]
    if clashes:
        raise ValueError(f"two editions share an ISBN: {clashes}")

    records: dict[str, list[Record]] = defaultdict(list)
    numbers = {code: style.id_start for code, style in STYLES.items()}
    barcodes = {code: style.barcode_start for code, style in STYLES.items()}
    for edition in books.EDITIONS:
        for code, copies in parse_holders(edition.holders):
            copy_barcodes = [f"{code}{barcodes[code] + i:06d}" for i in range(copies)]
            barcodes[code] += copies
            records[code].append(build_record(code, edition, numbers[code], copy_barcodes))
            # Gaps in the sequence, as real catalogues have (weeded, merged records).
            numbers[code] += 1 + _digest("gap", code, edition.key) % 3
    return {code: b"".join(r.as_marc() for r in records[code]) for code in books.LIBRARIES}


REQUIRED = ("001", "003", "008", "245", "852")


def check(data_dir: Path = DATA_DIR) -> list[str]:
    """Read every file back and return a list of problems (empty when all is well).

    Prints the counts: records per library, distinct editions, and how many editions are held
    by two or more and three or more libraries.
    """
    problems: list[str] = []
    holders_by_isbn_or_key: dict[str, set[str]] = defaultdict(set)
    barcodes: Counter[str] = Counter()
    per_library: dict[str, int] = {}
    for code in books.LIBRARIES:
        path = data_dir / f"{code}.mrc"
        if not path.exists():
            problems.append(f"{path.name}: missing")
            continue
        count = 0
        ids: Counter[str] = Counter()
        with path.open("rb") as handle:
            reader = MARCReader(handle, to_unicode=True, force_utf8=True, utf8_handling="strict")
            for position, record in enumerate(reader, 1):
                where = f"{code} record {position}"
                if record is None:
                    problems.append(f"{where}: unreadable ({reader.current_exception})")
                    continue
                count += 1
                if record.leader[9] != "a":
                    problems.append(f"{where}: leader/09 is not 'a'")
                for tag in REQUIRED:
                    if not record.get_fields(tag):
                        problems.append(f"{where}: no {tag}")
                ids[record["001"].data] += 1
                if record["003"].data != f"VN-{code}":
                    problems.append(f"{where}: 003 is {record['003'].data}")
                if len(record["008"].data) != 40:
                    problems.append(f"{where}: 008 is not 40 characters")
                for field in record.get_fields():
                    if field.is_control_field():
                        texts = [field.data]
                    else:
                        texts = [sub.value for sub in field.subfields]
                    for text in texts:
                        if unicodedata.normalize("NFC", text) != text:
                            problems.append(f"{where}: {field.tag} is not NFC: {text!r}")
                for field in record.get_fields("020"):
                    for isbn in field.get_subfields("a"):
                        if not isbn_is_valid(isbn):
                            problems.append(f"{where}: bad ISBN {isbn}")
                for field in record.get_fields("022"):
                    for issn in field.get_subfields("a"):
                        if not issn_is_valid(issn):
                            problems.append(f"{where}: bad ISSN {issn}")
                for field in record.get_fields("852"):
                    barcodes[field["p"]] += 1
                    if field["a"] != f"VN-{code}":
                        problems.append(f"{where}: 852 $a is {field['a']}")
                # The edition's identity, independent of how this library wrote it.
                holders_by_isbn_or_key[_identity(record)].add(code)
        per_library[code] = count
        problems += [f"{code}: 001 {i} used {n} times" for i, n in ids.items() if n > 1]
    problems += [f"barcode {b} used {n} times" for b, n in barcodes.items() if n > 1]

    editions = len(books.EDITIONS)
    expected = {code: 0 for code in books.LIBRARIES}
    for edition in books.EDITIONS:
        for code, _ in parse_holders(edition.holders):
            expected[code] += 1
    if per_library and per_library != expected:
        problems.append(f"record counts {per_library} differ from books.py {expected}")
    held = [len(parse_holders(e.holders)) for e in books.EDITIONS]
    print("records per library:", ", ".join(f"{c} {n}" for c, n in per_library.items()))
    print(f"records in total: {sum(per_library.values())}; copies (852): {sum(barcodes.values())}")
    print(f"editions: {editions}; works: {len({e.work for e in books.EDITIONS})}")
    print(
        f"editions held by >=2 libraries: {sum(n >= 2 for n in held)}; "
        f">=3 libraries: {sum(n >= 3 for n in held)}"
    )
    if len(holders_by_isbn_or_key) != editions:
        problems.append(
            f"{len(holders_by_isbn_or_key)} distinct edition identities read back, "
            f"expected {editions}"
        )
    return problems


def _identity(record: Record) -> str:
    # Reading back: ISBN-13 where any library wrote an ISBN, else title + year + publisher.
    # Records without 020 fall back to the title key, so we resolve them through books.py.
    for field in record.get_fields("020"):
        return to_isbn13(field["a"].replace("-", ""))
    title = record["245"]["a"].rstrip(" /:.")
    imprint = record.get("260") or record.get("264")
    year = re.sub(r"\D", "", imprint["c"])[:4]
    for edition in books.EDITIONS:
        if edition.title == title and str(edition.year) == year:
            isbn13 = edition_isbn13(edition)
            return isbn13 or f"{edition.title}|{edition.year}|{edition.publisher}"
    return f"?{title}|{year}"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the existing files")
    args = parser.parse_args(argv)
    if not args.check:
        files = build()
        if build() != files:  # belt and braces: the build must not depend on anything else
            print("build is not deterministic", file=sys.stderr)
            return 1
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        for code, data in files.items():
            (DATA_DIR / f"{code}.mrc").write_bytes(data)
    problems = check()
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
