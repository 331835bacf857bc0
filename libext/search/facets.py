"""Facet values as small integer codes, and counting them over a query's hits.

Each distinct (facet, value) gets a row in ``libext_search_facet``; a cluster stores the
codes of its values as one packed array (``SearchCluster.facet_ids``). A code is
``value id * 8 + facet number``, so the facet of a code is known without a lookup and only
the values shown (the top N of each facet) are read back by name.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from libext.bulk import any_of, inserted_ids
from libext.models.search import SearchFacet
from libext.search.documents import FACETS

__all__ = ["FacetCodes", "count_codes", "fetch_column", "pack", "unpack"]

_KIND = {name: number for number, name in enumerate(FACETS)}


def pack(codes: Iterable[int]) -> bytes:
    """Codes as little-endian unsigned 32-bit integers."""
    packed = array("I", codes)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def unpack(blob: bytes) -> array[int]:
    """The codes of a packed array."""
    codes = array("I")
    codes.frombytes(blob or b"")
    if sys.byteorder == "big":
        codes.byteswap()
    return codes


class FacetCodes:
    """Get-or-create codes of facet values, remembering those seen in this session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[tuple[str, str], int] = {}

    def codes(self, pairs: Sequence[tuple[str, str]]) -> list[int]:
        """Codes of these (facet, value) pairs, creating the values not yet stored."""
        return self.codes_many([pairs])[0]

    def codes_many(self, groups: Sequence[Sequence[tuple[str, str]]]) -> list[list[int]]:
        """:meth:`codes` of many documents' pairs at once: one look-up query per facet
        and one insert of the values not yet stored (numbered in order of first use)."""
        missing = list(dict.fromkeys(p for pairs in groups for p in pairs if p not in self.known))
        if missing:
            self._look_up(missing)
            new = [p for p in missing if p not in self.known]
            if new:
                table = SearchFacet.__table__
                rows = [{"facet": facet, "value": value} for facet, value in new]

                def read_back() -> list[int]:
                    self._look_up(new)
                    return [self.known[p] for p in new]

                ids = inserted_ids(self.session, table, rows, read_back)
                self.known.update(zip(new, ids, strict=True))
        return [[self.known[p] * 8 + _KIND[p[0]] for p in pairs] for pairs in groups]

    def _look_up(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Learn the stored codes of these pairs: per facet, so that (facet, value IN …)
        seeks the unique index (a look-up by value alone read the whole table)."""
        by_facet: dict[str, list[str]] = {}
        for facet, value in pairs:
            by_facet.setdefault(facet, []).append(value)
        for facet, values in by_facet.items():  # one query per facet: any_of takes any number
            rows = self.session.execute(
                select(SearchFacet.id, SearchFacet.value).where(
                    SearchFacet.facet == facet, any_of(self.session, SearchFacet.value, values)
                )
            )
            for row_id, value in rows:
                self.known[(facet, value)] = row_id

    def bulk_codes(
        self, pairs: Sequence[tuple[str, str]], next_id: list[int], new: list[dict[str, Any]]
    ) -> list[int]:
        """Like :meth:`codes` for a bulk load into empty tables: new ids are assigned here and
        the rows to insert are appended to ``new`` (the caller inserts them in one go)."""
        for pair in pairs:
            if pair not in self.known:
                next_id[0] += 1
                self.known[pair] = next_id[0]
                new.append({"id": next_id[0], "facet": pair[0], "value": pair[1]})
        return [self.known[p] * 8 + _KIND[p[0]] for p in pairs]


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def fetch_column(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """First column of every row, through the driver's cursor directly.

    Facet counting reads up to ``sample`` rows per query; SQLAlchemy's result machinery
    costs several times the database's own work for that many rows.
    """
    connection = session.connection()
    dbapi = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        sql = _NAMED.sub(r"%(\1)s", sql)
    cursor = dbapi.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


def count_codes(
    session: Session, blobs: Sequence[bytes], *, size: int
) -> dict[str, list[tuple[str, int]]]:
    """Count facet values over hits' packed codes; the top ``size`` values of each facet.

    Decades are all returned (newest first); other facets their ``size`` most frequent values.
    """
    # One array of every hit's codes, counted in one C-level pass.
    counter = Counter(unpack(b"".join(blobs)))
    by_kind: dict[int, list[tuple[int, int]]] = {}
    for code, count in counter.items():
        by_kind.setdefault(code & 7, []).append((code, count))
    chosen: list[tuple[int, int]] = []
    for kind, values in by_kind.items():
        values.sort(key=lambda item: -item[1])
        chosen += values if FACETS[kind] == "decade" else values[:size]
    if not chosen:
        return {}
    names = dict(
        session.execute(
            select(SearchFacet.id, SearchFacet.value).where(
                SearchFacet.id.in_([code >> 3 for code, _count in chosen])
            )
        ).all()
    )
    out: dict[str, list[tuple[str, int]]] = {}
    for code, count in chosen:
        value = names.get(code >> 3)
        if value is not None:
            out.setdefault(FACETS[code & 7], []).append((value, count))
    return out
