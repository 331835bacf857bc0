"""The search engine interface both back ends implement, and what a search asks and answers.

:class:`SearchEngine` has two implementations behind it: :mod:`libext.search.sqlite_fts`
(SQLite FTS5, the embedded default) and :mod:`libext.search.postgres_fts` (PostgreSQL
``tsvector`` + GIN). :func:`engine_for` picks by the session's dialect. Both receive the same
pre-folded documents and compile the same parsed query, so results agree.

Bounded work for broad queries: ranking goes through the engine's ``ORDER BY … LIMIT`` (a
top-k sort, never a full sort in Python), and facet counts are taken over at most
``facet_sample`` hits: exact when the query has fewer hits, otherwise scaled from the sample
and flagged approximate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from libext.models.search import SearchCluster
from libext.search.documents import FACETS, SearchDoc
from libext.search.facets import count_codes, fetch_column
from libext.search.folding import fold_tokens
from libext.search.query import ParsedQuery

__all__ = [
    "SORTS",
    "FacetValue",
    "SearchEngine",
    "SearchHits",
    "SearchRequest",
    "TopHits",
    "engine_for",
    "ranked_page",
    "rerank",
]

#: Sort orders: relevance, year newest/oldest first, title in Vietnamese alphabetical order.
SORTS = ("relevance", "year_desc", "year_asc", "title")

#: bm25 weights per field (SQLite) and the matching ts_rank weights D, C, B, A (PostgreSQL):
#: title > author > subject > the rest.
FIELD_WEIGHTS = {"title": 10.0, "author": 6.0, "subject": 4.0, "other": 1.0, "isbn": 1.0}


@dataclass(slots=True)
class SearchRequest:
    """A search: the parsed query, facet filters, sort and page."""

    query: ParsedQuery
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    size: int = 20
    with_facets: bool = True
    facet_size: int = 10
    facet_sample: int = 10_000
    #: Count every hit even when there are more than ``facet_sample`` (SRU's
    #: ``numberOfRecords``); otherwise an engine may estimate the totals of broad queries.
    exact_total: bool = False

    @property
    def offset(self) -> int:
        """Rows skipped before this page."""
        return (max(self.page, 1) - 1) * self.size


@dataclass(frozen=True, slots=True)
class FacetValue:
    """A facet value and how many hits have it."""

    value: str
    count: int


@dataclass(slots=True)
class SearchHits:
    """One page of cluster ids, the total, and facet counts."""

    total: int
    cluster_ids: list[int]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    facets_exact: bool = True
    #: False when ``total`` is an estimate (a broad query: more hits than ``facet_sample``).
    total_exact: bool = True


class SearchEngine(ABC):
    """Index and search clusters; one instance per database dialect, stateless."""

    name: str = ""

    def index(self, session: Session, docs: Sequence[SearchDoc], *, fresh: bool = False) -> None:
        """Insert or replace the full-text rows of ``docs`` (``fresh``: known to be new)."""
        if not docs:
            return
        if not fresh:
            self.delete(session, [d.cluster_id for d in docs])
        self.insert(session, docs)

    @abstractmethod
    def insert(self, session: Session, docs: Sequence[SearchDoc]) -> None:
        """Insert the full-text rows of ``docs`` (none of them is indexed yet)."""

    @abstractmethod
    def delete(self, session: Session, cluster_ids: Sequence[int]) -> None:
        """Remove the full-text rows of these clusters."""

    @abstractmethod
    def clear(self, session: Session) -> None:
        """Empty the full-text index (before a rebuild)."""

    @abstractmethod
    def search(self, session: Session, request: SearchRequest) -> SearchHits:
        """Run ``request``; never raises on any parsed query."""

    @abstractmethod
    def ranked_baseline(self, session: Session, folded_terms: Sequence[str]) -> list[int]:
        """The bare ranked top-20 for plain terms (benchmark baseline only)."""


def group_facets(
    counted: dict[str, list[tuple[str, int]]], *, scale: float = 1.0
) -> dict[str, list[FacetValue]]:
    """Counted facet values → :class:`FacetValue` lists in display order, counts scaled.

    Decades newest first; the other facets largest count first.
    """
    out: dict[str, list[FacetValue]] = {}
    for name in FACETS:
        values = [FacetValue(v, round(c * scale)) for v, c in counted.get(name, [])]
        if name == "decade":
            values.sort(key=lambda fv: fv.value, reverse=True)
        else:
            values.sort(key=lambda fv: (-fv.count, fv.value))
        if values:
            out[name] = values
    return out


def fill_facets(
    session: Session,
    hits: SearchHits,
    blobs_sql: str,
    params: dict[str, Any],
    request: SearchRequest,
) -> None:
    """Count the facets of ``hits`` over the packed codes ``blobs_sql`` selects.

    Exact up to ``request.facet_sample`` hits; above it the sample's counts are scaled to the
    total (and marked approximate), which bounds the work of very broad queries.
    """
    blobs = fetch_column(session, blobs_sql, {**params, "sample": request.facet_sample})
    fill_facets_from(session, hits, blobs, request)


def fill_facets_from(
    session: Session, hits: SearchHits, blobs: Sequence[bytes], request: SearchRequest
) -> None:
    """:func:`fill_facets` over packed codes already read (at most ``facet_sample`` hits)."""
    sample = request.facet_sample
    counted = count_codes(session, blobs, size=request.facet_size)
    hits.facets_exact = hits.total_exact and hits.total <= sample
    hits.facets = group_facets(counted, scale=1.0 if hits.facets_exact else hits.total / sample)


#: Relevance pages are re-ordered in blocks of this many hits (see :func:`ranked_page`).
RERANK_BLOCK = 50
#: How much better a hit scores when its whole title is among the query's words (a
#: known-item search: the reader typed the title, perhaps with the author's name).
TITLE_MATCH_BOOST = 0.5
#: Up to this much better for an edition held by five libraries or more (2% a library).
HOLDINGS_BOOST_PER_LIBRARY = 0.02

#: ``top(tier, limit)`` of an engine: the ``limit`` best (cluster id, score) of a tier, score
#: higher-is-better. Tiers: "all" hits; "exact" those carrying the query's own diacritics;
#: "rest" the others.
TopHits = Callable[[str, int], Sequence[tuple[int, float]]]


def ranked_page(session: Session, request: SearchRequest, top: TopHits, tiers: bool) -> list[int]:
    """The page of cluster ids by relevance, the same way on every engine.

    With ``tiers`` (the query carries diacritics) hits that match them exactly come first:
    two ranked queries, the second skipped when the first fills the page, so together no
    more work than ranking every hit once. Then the hits fetched — whole blocks of
    :data:`RERANK_BLOCK`, so a hit lands on the same page whatever the page size — are
    re-ordered within each block by :func:`rerank`.
    """
    wanted = request.offset + request.size

    def window(n: int) -> int:
        return -(-n // RERANK_BLOCK) * RERANK_BLOCK

    words = {
        token
        for term in request.query.terms
        if term.field in (None, "title")
        for token in term.folded
    }
    if not tiers:
        ranked = rerank(session, top("all", window(wanted)), words)
    else:
        first = top("exact", window(wanted))
        ranked = rerank(session, first, words)
        if len(first) < window(wanted) and wanted > len(first):
            ranked += rerank(session, top("rest", window(wanted - len(first))), words)
    return ranked[request.offset : wanted]


def rerank(session: Session, rows: Sequence[tuple[int, float]], words: set[str]) -> list[int]:
    """Ids of ``rows`` (cluster id, score) re-ordered block by block with two signals the
    full-text index does not hold.

    * Holding libraries: up to 10% for five or more, so that among equal or nearly equal
      matches the widely held edition, the one near the reader, comes first.
    * Known item: a hit whose whole title is among the query's words scores half as much
      again. ``truyen kieu nguyen du`` then puts *Truyện Kiều* before *The tale of Kieu : a
      bilingual edition of Truyen Kieu*, which bm25 prefers for saying "Kieu" twice.
    """
    if not rows:
        return []
    facts = {
        cid: (libs, title)
        for cid, libs, title in session.execute(
            select(SearchCluster.id, SearchCluster.library_count, SearchCluster.title).where(
                SearchCluster.id.in_([int(r[0]) for r in rows])
            )
        )
    }

    def adjusted(row: tuple[int, float]) -> tuple[float, int, int]:
        libs, title = facts.get(row[0], (0, ""))
        factor = 1.0 + HOLDINGS_BOOST_PER_LIBRARY * min(libs, 5)
        tokens = set(fold_tokens(title))
        if tokens and tokens <= words:
            factor += TITLE_MATCH_BOOST
        return (-row[1] * factor, -libs, row[0])

    ranked: list[int] = []
    for start in range(0, len(rows), RERANK_BLOCK):
        ranked += [r[0] for r in sorted(rows[start : start + RERANK_BLOCK], key=adjusted)]
    return ranked


def engine_for(session: Session) -> SearchEngine:
    """The engine of the session's database."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from libext.search.postgres_fts import PostgresEngine

        return PostgresEngine()
    if dialect == "sqlite":
        from libext.search.sqlite_fts import SqliteEngine

        return SqliteEngine()
    raise RuntimeError(f"libext search supports SQLite and PostgreSQL, not {dialect}")
