"""What the index holds for one cluster: field texts, folded and exact, facets, sort columns.

Both engines index the same :class:`SearchDoc`, built here from the cluster's member records,
so SQLite and PostgreSQL find and facet exactly alike. A cluster's text is the union of its
members' texts (each value once): a reader finds the edition by any library's cataloguing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from libext.search.collation import sort_key
from libext.search.folding import exact_tokens, fold_tokens
from marc.extract import Extracted
from marc.isbn import isbn13_to_10
from marc.pickling import flat_pickle

__all__ = [
    "FACETS",
    "MemberData",
    "SearchDoc",
    "add_libraries",
    "build_doc",
    "decade_of",
    "facet_token",
    "member_doc",
    "year_tokens",
]

#: Facets, in the order pages show them.
FACETS = ("library", "type", "language", "decade", "subject", "author")

# Every facet value is also indexed as a token, so filtering by it is an index lookup.
TOKEN_FACETS = {
    "library": "fl",
    "type": "ft",
    "language": "fg",
    "decade": "fd",
    "subject": "fs",
    "author": "fa",
}


def facet_token(facet: str, value: str) -> str:
    """The index token standing for a facet value: a prefix and a short hash (one token)."""
    digest = hashlib.blake2b(value.encode("utf-8"), digest_size=8).hexdigest()
    return TOKEN_FACETS[facet] + digest


def year_token(year: int) -> str:
    """The index token of a publication year (``year:`` searches are token lookups)."""
    return f"fy{year}"


def year_tokens(first: int, last: int) -> list[str]:
    """Tokens covering the years ``first``..``last``: whole decades by their decade token."""
    first, last = max(first, 1000), min(last, 2199)
    tokens: list[str] = []
    year = first
    while year <= last:
        if year % 10 == 0 and year + 9 <= last:
            tokens.append(facet_token("decade", str(year)))
            year += 10
        else:
            tokens.append(year_token(year))
            year += 1
    return tokens


def decade_of(year: int | None) -> str:
    """``1994`` → ``"1990"``; '' when unknown."""
    return str(year // 10 * 10) if year else ""


@dataclass(slots=True)
class MemberData:
    """One member record as indexing needs it."""

    record_id: int
    library_codes: Sequence[str]  # the cataloguing library first, then holding libraries
    data: Extracted
    completeness: int = 0  # larger is more complete (fields and bytes): picks the record shown


@flat_pickle
@dataclass(slots=True)
class SearchDoc:
    """The indexed form of one cluster."""

    cluster_id: int
    representative_id: int | None
    title: str
    authors: list[str]
    year: int | None
    isbns: list[str]
    material_type: str
    language: str
    title_sort: bytes
    library_count: int
    #: Space-separated folded tokens per field, and the exact tokens that carry diacritics.
    columns: dict[str, str] = field(default_factory=dict)
    exact: str = ""
    facet_tokens: str = ""
    facets: list[tuple[str, str]] = field(default_factory=list)
    #: Packed facet codes (set by the indexer, which owns the value numbering).
    facet_codes: bytes = b""


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        if value:
            seen.setdefault(value, None)
    return list(seen)


def _folded(values: Iterable[str]) -> str:
    """Folded tokens of the first value, then of each further value only if it adds any."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        tokens = fold_tokens(value)
        if not out or not seen.issuperset(tokens):
            out += tokens
            seen.update(tokens)
    return " ".join(out)


def build_doc(cluster_id: int, members: Sequence[MemberData]) -> SearchDoc:
    """The document of a cluster from its members (at least one)."""
    doc = _doc_without_libraries(cluster_id, members)
    return add_libraries(doc, _unique(code for m in members for code in m.library_codes))


def member_doc(data: Extracted, completeness: int) -> SearchDoc:
    """The document a record would have alone in a cluster, but for its holding libraries
    (cluster and representative ids 0): worked out where the record is read, then completed
    by :func:`add_libraries` once the record's cluster is known to hold it alone."""
    return _doc_without_libraries(0, [MemberData(0, (), data, completeness)])


def add_libraries(doc: SearchDoc, libraries: Sequence[str]) -> SearchDoc:
    """Give ``doc`` its holding libraries (distinct codes, the cataloguing library first):
    their facet values come first, as the library facet is the one readers use most."""
    doc.library_count = len(libraries)
    doc.facets = [("library", code) for code in libraries] + doc.facets
    tokens = [facet_token("library", code) for code in libraries]
    if doc.facet_tokens:
        tokens.append(doc.facet_tokens)
    doc.facet_tokens = " ".join(tokens)
    return doc


def _doc_without_libraries(cluster_id: int, members: Sequence[MemberData]) -> SearchDoc:
    best = max(members, key=lambda m: (m.completeness, -m.record_id))
    rep = best.data
    # The shown record's values first; other members add only what it lacks, so a cluster
    # held by seven libraries is not seven times as long (bm25 would rank it lower for that).
    ordered = [best, *(m for m in members if m is not best)]
    titles = _unique(m.data.title for m in ordered)
    authors = _unique(a for m in ordered for a in m.data.authors)
    subjects = _unique(s for m in ordered for s in m.data.subjects)
    other = _unique(
        v
        for m in ordered
        for v in (
            *m.data.series,
            m.data.publisher,
            m.data.place,
            m.data.edition,
            *m.data.notes,
        )
    )
    isbns = _unique(i for m in members for i in m.data.isbns)
    isbn_tokens = _unique([*isbns, *(isbn13_to_10(i) or "" for i in isbns)])
    issn_tokens = _unique(i.replace("-", "").lower() for m in members for i in m.data.issns)
    year = rep.year or next((m.data.year for m in members if m.data.year), None)
    language = rep.language or next((m.data.language for m in members if m.data.language), "")
    facets: list[tuple[str, str]] = []
    if rep.material_type:
        facets.append(("type", rep.material_type))
    if language:
        facets.append(("language", language))
    if year:
        facets.append(("decade", decade_of(year)))
    # Subject facet: the heading's first part (650 $a), as librarians browse by topic.
    facets += [("subject", s) for s in _unique(s.split(" -- ")[0][:255] for s in subjects)]
    facets += [("author", a[:255]) for a in authors]
    exact = _unique(
        tok
        for text in (*titles, *authors, *subjects, *other)
        for tok in exact_tokens(text)
        if not tok.isascii()
    )
    nonfiling = rep.title_nonfiling if 0 < rep.title_nonfiling < len(rep.title) else 0
    return SearchDoc(
        cluster_id=cluster_id,
        representative_id=best.record_id,
        title=rep.title,
        authors=rep.authors or authors,
        year=year,
        isbns=isbns,
        material_type=rep.material_type,
        language=language,
        title_sort=sort_key(rep.title[nonfiling:][:120]),
        library_count=0,
        columns={
            "title": _folded(titles),
            "author": _folded(authors),
            "subject": _folded(subjects),
            "other": _folded(other),
            "isbn": " ".join([*isbn_tokens, *issn_tokens]).lower(),
        },
        exact=" ".join(exact),
        facet_tokens=" ".join(
            [facet_token(name, value) for name, value in facets if name in TOKEN_FACETS]
            + ([year_token(year)] if year else [])
        ),
        facets=_unique_pairs(facets),
    )


def _unique_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((f, v) for f, v in pairs if v))
