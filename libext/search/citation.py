"""RIS and BibTeX for a record's download links (reference managers: Zotero, EndNote, JabRef).

Both are written from the extracted fields of the MARC record. BibTeX is kept in UTF-8
(biber and modern BibTeX read it) with its special characters escaped.
"""

from __future__ import annotations

import re

from libext.search.folding import fold_tokens
from marc.extract import Extracted

__all__ = ["bibtex", "ris"]

_RIS_TYPES = {"a": "BOOK", "e": "MAP", "g": "VIDEO", "i": "SOUND", "j": "SOUND", "m": "COMP"}


def ris(data: Extracted, record_id: int, url: str = "") -> str:
    """The record as one RIS reference."""
    kind = "JOUR" if data.material_type[1:2] == "s" else _RIS_TYPES.get(data.material_type[:1])
    lines = [("TY", kind or "GEN"), ("TI", data.title)]
    lines += [("AU", name) for name in data.authors]
    if data.year:
        lines.append(("PY", str(data.year)))
    lines += [("PB", data.publisher), ("CY", data.place), ("ET", data.edition)]
    lines += [("SN", isbn) for isbn in data.isbns] + [("SN", issn) for issn in data.issns]
    lines += [("KW", subject) for subject in data.subjects]
    lines += [("LA", data.language), ("UR", url), ("ID", str(record_id))]
    body = "".join(f"{tag}  - {_one_line(value)}\r\n" for tag, value in lines if value)
    return body + "ER  - \r\n"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


_BIBTEX_SPECIAL = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "{": r"\{",
        "}": r"\}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
)


def _bib(text: str) -> str:
    return _one_line(text).translate(_BIBTEX_SPECIAL)


def bibtex(data: Extracted, record_id: int, url: str = "") -> str:
    """The record as one BibTeX entry; the key is author-year-title, folded to ASCII."""
    first = fold_tokens(data.authors[0])[:1] if data.authors else []
    word = fold_tokens(data.title)[:1]
    key = "".join([*(first or ["anon"]), str(data.year or ""), *word]) or f"record{record_id}"
    kind = (
        "article"
        if data.material_type[1:2] == "s"
        else ("book" if data.material_type[:1] == "a" else "misc")
    )
    fields = [
        ("title", data.title),
        ("author", " and ".join(data.authors)),
        ("year", str(data.year or "")),
        ("publisher", data.publisher),
        ("address", data.place),
        ("edition", data.edition),
        ("isbn", ", ".join(data.isbns)),
        ("issn", ", ".join(data.issns)),
        ("language", data.language),
        ("keywords", ", ".join(data.subjects)),
        ("url", url),
    ]
    body = ",\n".join(f"  {name} = {{{_bib(value)}}}" for name, value in fields if value)
    return f"@{kind}{{{key},\n{body}\n}}\n"
