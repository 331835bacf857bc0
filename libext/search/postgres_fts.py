"""PostgreSQL full-text engine: ``tsvector`` + GIN, with folding done in Python.

The table ``libext_search_fts`` (migration 0004) holds per cluster: ``doc`` (folded tokens
with positions, weighted A title, B author, C subject, D the rest and ISBNs), ``exact``
(diacritic-carrying tokens), ``facets`` (facet-value tokens) and ``library_count``.

Vectors and queries are written as ``tsvector``/``tsquery`` *literals* and cast, never passed
through ``to_tsvector``/``to_tsquery``: no text search configuration (not even ``simple``)
touches the tokens, so PostgreSQL matches exactly what SQLite's FTS5 matches. Tokens are
letters and digits only and are quoted, so no user input forms tsquery syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from libext.search.documents import TOKEN_FACETS, SearchDoc, facet_token, year_tokens
from libext.search.engine import (
    SearchEngine,
    SearchHits,
    SearchRequest,
    fill_facets,
    fill_facets_from,
    ranked_page,
)
from libext.search.facets import fetch_column
from libext.search.query import Term

TABLE = "libext_search_fts"
_WEIGHT = {"title": "A", "author": "B", "subject": "C", "other": "D", "isbn": "D"}
# ts_rank weights for D, C, B, A: the same ratios as the bm25 column weights on SQLite.
_RANK = "ts_rank(CAST('{0.1, 0.4, 0.6, 1.0}' AS float4[]), doc, CAST(:m AS tsquery))"
_MAX_POSITION = 16383  # PostgreSQL's limit; later positions are clamped


def doc_vector(columns: dict[str, str]) -> str:
    """A ``tsvector`` literal of the folded columns, with positions and weights."""
    entries: dict[str, list[str]] = {}
    position = 1
    for name in ("title", "author", "subject", "other", "isbn"):
        weight = _WEIGHT[name]
        for token in columns.get(name, "").split():
            entries.setdefault(token, []).append(f"{min(position, _MAX_POSITION)}{weight}")
            position += 1
        position += 8  # a gap, so that a phrase never spans two fields
    return " ".join(f"'{tok}':{','.join(pos[:256])}" for tok, pos in entries.items())


def _bare_vector(tokens: str) -> str:
    return " ".join(f"'{tok}'" for tok in dict.fromkeys(tokens.split()))


def term_query(term: Term) -> str | None:
    """``tsquery`` literal of one term (None for year terms)."""
    if term.field == "isbn" and term.isbn:
        return f"'{term.isbn}':D"
    if not term.folded:
        return None
    weight = _WEIGHT.get(term.field or "", "")
    parts = []
    for i, tok in enumerate(term.folded):
        star = "*" if term.prefix and i == len(term.folded) - 1 else ""
        parts.append(f"'{tok}':{star}{weight}" if star or weight else f"'{tok}'")
    return "(" + " <-> ".join(parts) + ")"


def exact_query(terms: Sequence[Term]) -> str | None:
    """``tsquery`` literal requiring the diacritic-carrying tokens of the query."""
    parts = []
    for term in terms:
        if not term.has_diacritics:
            continue
        for i, tok in enumerate(term.tokens):
            if not tok.isascii():
                star = ":*" if term.prefix and i == len(term.tokens) - 1 else ""
                parts.append(f"'{tok}'{star}")
    return " & ".join(parts) or None


def _estimated_rows(session: Session, hits_from: str, params: dict[str, Any]) -> int:
    """The planner's row estimate for ``SELECT … {hits_from}`` (no row is read)."""
    plan = session.execute(text(f"EXPLAIN (FORMAT JSON) SELECT 1 {hits_from}"), params)
    return int(plan.scalar_one()[0]["Plan"]["Plan Rows"])


class _Compiled:
    def __init__(self, request: SearchRequest) -> None:
        self.params: dict[str, Any] = {}
        terms = [q for q in map(term_query, request.query.terms) if q]
        self.conditions: list[str] = []
        facet_parts = []
        for facet, values in sorted(request.filters.items()):
            values = [v for v in values if v]
            if not values:
                continue
            if facet not in TOKEN_FACETS:
                continue
            facet_parts.append("(" + " | ".join(f"'{facet_token(facet, v)}'" for v in values) + ")")
        for term in request.query.terms:
            if term.field == "year" and term.year_from and term.year_to:
                tokens = year_tokens(term.year_from, term.year_to) or ["fy0"]
                facet_parts.append("(" + " | ".join(f"'{tok}'" for tok in tokens) + ")")
        self.match = " & ".join(terms) or None
        if self.match:
            self.params["m"] = self.match
        self.facet_query = " & ".join(facet_parts) or None
        if self.facet_query:
            self.params["fq"] = self.facet_query
        self.exact = exact_query(request.query.terms)
        if self.exact:
            self.params["x"] = self.exact

    @property
    def uses_fts(self) -> bool:
        return bool(self.match or self.facet_query)

    def hits_from(self) -> str:
        if self.uses_fts:
            where = []
            if self.match:
                where.append("doc @@ CAST(:m AS tsquery)")
            if self.facet_query:
                where.append("facets @@ CAST(:fq AS tsquery)")
            where += [c.format(id="cluster_id") for c in self.conditions]
            return f"FROM {TABLE} WHERE " + " AND ".join(where)
        where = ["TRUE"] + [c.format(id="id") for c in self.conditions]
        return "FROM libext_search_cluster WHERE " + " AND ".join(where)

    @property
    def id_column(self) -> str:
        return "cluster_id" if self.uses_fts else "id"


class PostgresEngine(SearchEngine):
    """Search on PostgreSQL full text."""

    name = "postgresql"

    def insert(self, session: Session, docs: Sequence[SearchDoc]) -> None:
        session.execute(
            text(
                f"INSERT INTO {TABLE} (cluster_id, doc, exact, facets, library_count, facet_ids)"
                " VALUES (:id, CAST(:doc AS tsvector), CAST(:exact AS tsvector),"
                " CAST(:facets AS tsvector), :libs, :codes)"
            ),
            [
                {
                    "id": d.cluster_id,
                    "doc": doc_vector(d.columns),
                    "exact": _bare_vector(d.exact),
                    "facets": _bare_vector(d.facet_tokens),
                    "libs": d.library_count,
                    "codes": d.facet_codes,
                }
                for d in docs
            ],
        )

    def delete(self, session: Session, cluster_ids: Sequence[int]) -> None:
        if cluster_ids:
            session.execute(
                text(f"DELETE FROM {TABLE} WHERE cluster_id = ANY(:ids)"),
                {"ids": list(cluster_ids)},
            )

    def clear(self, session: Session) -> None:
        session.execute(text(f"DELETE FROM {TABLE}"))

    def search(self, session: Session, request: SearchRequest) -> SearchHits:
        c = _Compiled(request)
        if not c.uses_fts and not c.conditions:
            return SearchHits(total=0, cluster_ids=[])
        params = {**c.params, "lim": request.size, "off": request.offset}
        hits_from = c.hits_from()
        sampled: list[Any] | None = None
        total_exact = True
        if request.exact_total:
            total = session.execute(text(f"SELECT count(*) {hits_from}"), params).scalar_one()
        else:
            # Counting every hit of a broad query reads every matching row a second time (the
            # ranking reads them once). Instead, as search engines do, count exactly up to
            # the facet sample, which is read anyway, and above it take the planner's
            # estimate (tsvector statistics make it close for one or two words).
            sample = max(request.facet_sample, 1)
            column = "facet_ids" if request.with_facets else "1"
            sampled = fetch_column(
                session, f"SELECT {column} {hits_from} LIMIT :sample", {**params, "sample": sample}
            )
            total = len(sampled)
            if total >= sample:
                total = max(sample, _estimated_rows(session, hits_from, params))
                total_exact = False
        if total == 0:
            return SearchHits(total=0, cluster_ids=[])
        if request.sort == "relevance" and c.match:
            ids = self._ranked(session, c, hits_from, params, request)
        else:
            order = {
                "year_desc": "c.year DESC NULLS LAST, c.title_sort",
                "year_asc": "c.year ASC NULLS LAST, c.title_sort",
                "title": "c.title_sort, c.year DESC",
            }.get(request.sort, "c.library_count DESC, c.title_sort")
            sql = (
                "SELECT c.id FROM libext_search_cluster c WHERE c.id IN"
                f" (SELECT {c.id_column} {hits_from}) ORDER BY {order}, c.id"
                " LIMIT :lim OFFSET :off"
            )
            ids = [row[0] for row in session.execute(text(sql), params)]
        hits = SearchHits(total=total, cluster_ids=ids, total_exact=total_exact)
        if request.with_facets:
            # Facet codes are kept in the full-text row itself: no join, and only ``sample``
            # matching rows are read.
            if sampled is not None:
                fill_facets_from(session, hits, sampled, request)
            else:
                sql = f"SELECT facet_ids {hits_from} LIMIT :sample"
                fill_facets(session, hits, sql, params, request)
        return hits

    @staticmethod
    def _ranked(
        session: Session,
        c: _Compiled,
        hits_from: str,
        params: dict[str, Any],
        request: SearchRequest,
    ) -> list[int]:
        """The page by relevance (:func:`ranked_page`): weighted ``ts_rank``, each tier one
        ``ORDER BY … LIMIT`` query (``… AND exact @@ x``, then ``… AND NOT exact @@ x``)."""
        extra = {
            "all": "",
            "exact": " AND exact @@ CAST(:x AS tsquery)",
            "rest": " AND NOT (exact @@ CAST(:x AS tsquery))",
        }

        def top(tier: str, limit: int) -> list[tuple[int, float]]:
            sql = (
                f"SELECT cluster_id, {_RANK} {hits_from}{extra[tier]}"
                f" ORDER BY {_RANK} DESC, cluster_id LIMIT :limit"
            )
            rows = session.execute(text(sql), {**params, "limit": limit})
            return [(row[0], float(row[1])) for row in rows]

        return ranked_page(session, request, top, tiers=bool(c.exact))

    def ranked_baseline(self, session: Session, folded_terms: Sequence[str]) -> list[int]:
        query = " & ".join(f"'{t}'" for t in folded_terms)
        sql = (
            f"SELECT cluster_id FROM {TABLE} WHERE doc @@ CAST(:m AS tsquery)"
            f" ORDER BY {_RANK} DESC LIMIT 20"
        )
        return [row[0] for row in session.execute(text(sql), {"m": query})]
