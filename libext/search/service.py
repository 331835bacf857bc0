"""Search as the web page, the JSON API and SRU use it: hits turned into displayable results.

A result is one edition (cluster): the most complete member record's description, and every
library that holds it with its call numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, aliased, selectinload

from libext.models import Holding, Library, Record
from libext.models.search import SearchCluster, SearchMember
from libext.search.engine import SORTS, FacetValue, SearchRequest, engine_for
from libext.search.query import Notice, parse_query

__all__ = [
    "Holder",
    "Result",
    "SearchResults",
    "cluster_holders",
    "cluster_members",
    "holders_of",
    "run_search",
]

#: Largest page size a client may ask for.
MAX_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Holder:
    """A library holding an edition, with a call number ('' when the record has no items)."""

    code: str
    name: str
    call_number: str
    record_id: int


@dataclass(slots=True)
class Result:
    """One edition in a result list."""

    cluster_id: int
    record_id: int | None
    title: str
    authors: list[str]
    year: int | None
    isbns: list[str]
    material_type: str
    language: str
    key: str
    holders: list[Holder] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The JSON form of the API (``id`` is the displayed record's id)."""
        return {
            "id": self.record_id,
            "cluster": self.cluster_id,
            "title": self.title,
            "authors": self.authors,
            "year": self.year,
            "isbns": self.isbns,
            "type": self.material_type,
            "language": self.language,
            "libraries": [
                {"code": h.code, "name": h.name, "call_number": h.call_number} for h in self.holders
            ],
        }


@dataclass(slots=True)
class SearchResults:
    """A page of results with total, facets and what the parser changed."""

    total: int
    page: int
    size: int
    results: list[Result]
    facets: dict[str, list[FacetValue]]
    facets_exact: bool
    notices: list[Notice]
    searched: bool  # False when there was nothing to search for
    #: False when ``total`` is an estimate (a broad query on PostgreSQL: "about N results").
    total_exact: bool = True

    @property
    def pages(self) -> int:
        """Number of pages."""
        return max(1, -(-self.total // self.size))


def holders_of(records: Sequence[Record]) -> list[Holder]:
    """Libraries and call numbers of these records' copies, each pair once."""
    rows: list[tuple[int, str, str, str | None, str | None, str | None]] = []
    for record in records:
        lib = record.library
        if not record.holdings:
            rows.append((record.id, lib.code, lib.name, None, None, None))
        for h in record.holdings:
            held = h.library or lib
            rows.append((record.id, lib.code, lib.name, held.code, held.name, h.call_number))
    return _holders(rows)


def _holders(
    rows: Sequence[tuple[int, str, str, str | None, str | None, str | None]],
) -> list[Holder]:
    """Holders from (record id, record's library code and name, holding's library code and
    name, call number) rows in record then holding order; the holding part is None for a
    record without items."""
    seen: dict[tuple[str, str], Holder] = {}
    for record_id, code, name, held_code, held_name, call_number in rows:
        if held_code is None:
            seen.setdefault((code, ""), Holder(code, name, "", record_id))
        else:
            call = call_number or ""
            seen.setdefault(
                (held_code, call), Holder(held_code, held_name or held_code, call, record_id)
            )
    # A library listed with a call number needs no extra bare line.
    coded = {code for code, call in seen if call}
    return [h for (code, call), h in seen.items() if call or code not in coded]


_RECORD_LIBRARY = aliased(Library)
_HOLDING_LIBRARY = aliased(Library)
# Built once: composing a select with aliases costs more than running this one.
_HOLDERS = (
    select(
        SearchMember.cluster_id,
        Record.id,
        _RECORD_LIBRARY.code,
        _RECORD_LIBRARY.name,
        _HOLDING_LIBRARY.code,
        _HOLDING_LIBRARY.name,
        Holding.call_number,
    )
    .join(Record, Record.id == SearchMember.record_id)
    .join(_RECORD_LIBRARY, _RECORD_LIBRARY.id == Record.library_id)
    .outerjoin(Holding, Holding.record_id == Record.id)
    .outerjoin(_HOLDING_LIBRARY, _HOLDING_LIBRARY.id == Holding.library_id)
    .where(
        SearchMember.cluster_id.in_(bindparam("ids", expanding=True)),
        Record.deleted.is_(False),
    )
    .order_by(Record.id, Holding.id)
)
_CLUSTERS = select(
    SearchCluster.id,
    SearchCluster.representative_id,
    SearchCluster.title,
    SearchCluster.authors,
    SearchCluster.year,
    SearchCluster.isbns,
    SearchCluster.material_type,
    SearchCluster.language,
    SearchCluster.key,
).where(SearchCluster.id.in_(bindparam("ids", expanding=True)))


def cluster_holders(session: Session, cluster_ids: Sequence[int]) -> dict[int, list[Holder]]:
    """:func:`holders_of` the live members of each cluster, in one query.

    A result page needs only codes, names and call numbers: reading them as plain rows
    instead of loading every member record (MARC included) with its holdings as ORM objects
    is most of the cost of a page of results.
    """
    if not cluster_ids:
        return {}
    rows = session.execute(_HOLDERS, {"ids": list(cluster_ids)}).all()
    grouped: dict[int, list[tuple[int, str, str, str | None, str | None, str | None]]] = {}
    for cluster_id, *row in rows:
        grouped.setdefault(cluster_id, []).append(tuple(row))  # type: ignore[arg-type]
    return {cid: _holders(grouped.get(cid, [])) for cid in cluster_ids}


def cluster_members(session: Session, cluster_ids: Sequence[int]) -> dict[int, list[Record]]:
    """Live member records of each cluster, with holdings loaded."""
    out: dict[int, list[Record]] = {cid: [] for cid in cluster_ids}
    if not cluster_ids:
        return out
    rows = session.execute(
        select(SearchMember.cluster_id, Record)
        .join(Record, Record.id == SearchMember.record_id)
        .where(SearchMember.cluster_id.in_(list(cluster_ids)), Record.deleted.is_(False))
        .options(selectinload(Record.holdings))
        .order_by(Record.id)
    ).all()
    for cluster_id, record in rows:
        out[cluster_id].append(record)
    return out


def run_search(
    session: Session,
    q: str | None,
    *,
    filters: dict[str, list[str]] | None = None,
    sort: str = "relevance",
    page: int = 1,
    size: int = 20,
    with_facets: bool = True,
    facet_size: int = 10,
    facet_sample: int = 10_000,
) -> SearchResults:
    """Parse ``q``, search, and load the page's editions; never raises on user input."""
    parsed = parse_query(q)
    filters = {k: v for k, v in (filters or {}).items() if v}
    size = min(max(size, 1), MAX_PAGE_SIZE)
    page = max(page, 1)
    request = SearchRequest(
        query=parsed,
        filters=filters,
        sort=sort if sort in SORTS else "relevance",
        page=page,
        size=size,
        with_facets=with_facets,
        facet_size=facet_size,
        facet_sample=facet_sample,
    )
    searched = not parsed.is_empty or bool(filters)
    hits = engine_for(session).search(session, request)
    clusters = {row.id: row for row in session.execute(_CLUSTERS, {"ids": list(hits.cluster_ids)})}
    holders = cluster_holders(session, hits.cluster_ids)
    results = []
    for cid in hits.cluster_ids:
        cluster = clusters.get(cid)
        if cluster is None:
            continue
        results.append(
            Result(
                cluster_id=cid,
                record_id=cluster.representative_id,
                title=cluster.title,
                authors=[a for a in cluster.authors.split("\n") if a],
                year=cluster.year,
                isbns=cluster.isbns.split(),
                material_type=cluster.material_type,
                language=cluster.language,
                key=cluster.key,
                holders=holders.get(cid, []),
            )
        )
    return SearchResults(
        total=hits.total,
        page=page,
        size=size,
        results=results,
        facets=hits.facets,
        facets_exact=hits.facets_exact,
        notices=parsed.notices,
        searched=searched,
        total_exact=hits.total_exact,
    )


def library_names(session: Session) -> dict[str, str]:
    """Library code → name, for facet labels."""
    return {code: name for code, name in session.execute(select(Library.code, Library.name))}
