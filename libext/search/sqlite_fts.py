"""SQLite FTS5 engine.

The FTS5 table ``libext_search_fts`` (created by migration 0004) has one row per cluster,
``rowid`` = cluster id, columns ``title author subject other isbn`` of folded tokens, ``facets``
(facet-value tokens, so filters are doclist intersections), ``exact`` (the tokens that carry
diacritics, for ranking exact matches first) and ``libs`` (UNINDEXED holding-library count, the
tie-breaker). Every token reaching MATCH is quoted, and tokens are letters and digits only,
so no user input can form FTS5 syntax.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from libext.search.documents import TOKEN_FACETS, SearchDoc, facet_token, year_tokens
from libext.search.engine import (
    FIELD_WEIGHTS,
    SearchEngine,
    SearchHits,
    SearchRequest,
    fill_facets,
    ranked_page,
)
from libext.search.query import Term

log = logging.getLogger(__name__)

TABLE = "libext_search_fts"
_ALL = "{title author subject other isbn}"
_COLUMNS = {None: _ALL, "title": "{title}", "author": "{author}", "subject": "{subject}"}
#: Hits re-ordered together by the holding-library tie-breaker.
_BM25 = f"bm25({TABLE}, {', '.join(str(w) for w in FIELD_WEIGHTS.values())}, 0, 0)"


def _phrase(tokens: Sequence[str], prefix: bool) -> str:
    return '"' + " ".join(tokens) + '"' + (" *" if prefix else "")


def term_expression(term: Term) -> str | None:
    """FTS5 expression of one term over the folded columns (None for year terms)."""
    if term.field == "isbn" and term.isbn:
        return f'{{isbn}} : "{term.isbn}"'
    if not term.folded:
        return None
    return f"{_COLUMNS.get(term.field, _ALL)} : {_phrase(term.folded, term.prefix)}"


def exact_expression(terms: Sequence[Term]) -> str | None:
    """FTS5 expression requiring the diacritic-carrying tokens of the query, exactly."""
    parts = []
    for term in terms:
        if not term.has_diacritics:
            continue
        for i, tok in enumerate(term.tokens):
            if not tok.isascii():
                last = i == len(term.tokens) - 1
                parts.append(f"{{exact}} : {_phrase([tok], term.prefix and last)}")
    return " AND ".join(parts) or None


class _Compiled:
    """MATCH expression and SQL conditions of a request."""

    def __init__(self, request: SearchRequest) -> None:
        self.params: dict[str, Any] = {}
        match = [e for e in map(term_expression, request.query.terms) if e]
        self.conditions: list[str] = []
        for facet, values in sorted(request.filters.items()):
            values = [v for v in values if v]
            if not values:
                continue
            if facet not in TOKEN_FACETS:
                continue
            ors = " OR ".join(f'"{facet_token(facet, v)}"' for v in values)
            match.append(f"{{facets}} : ({ors})")
        for term in request.query.terms:
            if term.field == "year" and term.year_from and term.year_to:
                tokens = year_tokens(term.year_from, term.year_to)
                ors = " OR ".join(f'"{tok}"' for tok in tokens) or '"fy0"'
                match.append(f"{{facets}} : ({ors})")
        self.match = " AND ".join(match) or None
        if self.match:
            self.params["m"] = self.match
        self.exact = exact_expression(request.query.terms)
        if self.exact:
            self.params["x"] = self.exact

    def hits_from(self) -> str:
        """``FROM … WHERE …`` selecting matching cluster ids as ``id``."""
        if self.match:
            where = [f"{TABLE} MATCH :m"] + [c.format(id="rowid") for c in self.conditions]
            return f"FROM {TABLE} WHERE " + " AND ".join(where)
        where = ["1 = 1"] + [c.format(id="id") for c in self.conditions]
        return "FROM libext_search_cluster WHERE " + " AND ".join(where)

    @property
    def id_column(self) -> str:
        return "rowid" if self.match else "id"


class SqliteEngine(SearchEngine):
    """Search on SQLite FTS5."""

    name = "sqlite"

    def insert(self, session: Session, docs: Sequence[SearchDoc]) -> None:
        if not docs:
            return
        # The driver's own executemany: the rows are plain values, and SQLAlchemy's
        # per-row parameter handling cost a bulk load more than FTS5's own work. Pending
        # ORM changes are flushed first, as session.execute would.
        session.flush()
        session.connection().exec_driver_sql(
            f"INSERT INTO {TABLE} (rowid, title, author, subject, other, isbn, facets, exact,"
            " libs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    d.cluster_id,
                    d.columns["title"],
                    d.columns["author"],
                    d.columns["subject"],
                    d.columns["other"],
                    d.columns["isbn"],
                    d.facet_tokens,
                    d.exact,
                    d.library_count,
                )
                for d in docs
            ],
        )

    def delete(self, session: Session, cluster_ids: Sequence[int]) -> None:
        ids = list(cluster_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join(str(int(i)) for i in chunk)
            session.execute(text(f"DELETE FROM {TABLE} WHERE rowid IN ({marks})"))

    def clear(self, session: Session) -> None:
        session.execute(text(f"DELETE FROM {TABLE}"))

    def search(self, session: Session, request: SearchRequest) -> SearchHits:
        compiled = _Compiled(request)
        if not compiled.match and not compiled.conditions:
            return SearchHits(total=0, cluster_ids=[])
        try:
            return self._search(session, request, compiled)
        except OperationalError as exc:  # pragma: no cover - guarded by quoting
            log.warning("FTS5 refused %r: %s", compiled.match, exc)
            session.rollback()
            return SearchHits(total=0, cluster_ids=[])

    def _search(self, session: Session, request: SearchRequest, c: _Compiled) -> SearchHits:
        params = {**c.params, "lim": request.size, "off": request.offset}
        hits_from = c.hits_from()
        total = session.execute(text(f"SELECT count(*) {hits_from}"), params).scalar_one()
        if total == 0:
            return SearchHits(total=0, cluster_ids=[])
        if request.sort == "relevance" and c.match:
            ids = self._ranked(session, c, hits_from, params, request)
        else:
            order = {
                "year_desc": "c.year IS NULL, c.year DESC, c.title_sort",
                "year_asc": "c.year IS NULL, c.year, c.title_sort",
                "title": "c.title_sort, c.year DESC",
            }.get(request.sort, "c.library_count DESC, c.title_sort")
            sql = (
                f"SELECT c.id FROM libext_search_cluster c WHERE c.id IN"
                f" (SELECT {c.id_column} {hits_from}) ORDER BY {order}, c.id"
                " LIMIT :lim OFFSET :off"
            )
            ids = [row[0] for row in session.execute(text(sql), params)]
        hits = SearchHits(total=total, cluster_ids=ids)
        if request.with_facets:
            blobs = (
                "SELECT facet_ids FROM libext_search_cluster WHERE id IN"
                f" (SELECT {c.id_column} {hits_from} LIMIT :sample)"
            )
            fill_facets(session, hits, blobs, params, request)
        return hits

    @staticmethod
    def _ranked(
        session: Session,
        c: _Compiled,
        hits_from: str,
        params: dict[str, Any],
        request: SearchRequest,
    ) -> list[int]:
        """The page by relevance (:func:`ranked_page`): bm25 with field weights, each tier
        one ``ORDER BY bm25 LIMIT`` query (``(q) AND (exact)``, then ``(q) NOT (exact)``).

        The holding-library count and titles live outside the index: reading them for every
        hit would double the work of broad queries, so only the hits fetched are re-ordered.
        """
        match = {
            "all": c.match or "",
            "exact": f"({c.match}) AND ({c.exact})",
            "rest": f"({c.match}) NOT ({c.exact})",
        }

        def top(tier: str, limit: int) -> list[tuple[int, float]]:
            sql = f"SELECT rowid, {_BM25} {hits_from} ORDER BY {_BM25} LIMIT :limit"
            rows = session.execute(text(sql), {**params, "m": match[tier], "limit": limit})
            return [(row[0], -row[1]) for row in rows]  # bm25: lower is better

        return ranked_page(session, request, top, tiers=bool(c.exact))

    def ranked_baseline(self, session: Session, folded_terms: Sequence[str]) -> list[int]:
        match = " AND ".join(f'{_ALL} : "{t}"' for t in folded_terms)
        sql = f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH :m ORDER BY {_BM25} LIMIT 20"
        return [row[0] for row in session.execute(text(sql), {"m": match})]
