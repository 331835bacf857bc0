"""Keeps clusters and the full-text index in step with the record store.

:func:`after_write` is the store's hook: every import, harvest, edit or deletion passes the
ids it changed, and only the clusters those records leave or join are re-clustered and
re-indexed, in the writer's transaction. A record joins the first existing cluster that
shares an ISBN or its work key *and* whose every member passes
:func:`libext.search.clusterkey.same_edition`; otherwise it gets a cluster of its own.
Records a cataloguer split off (``manual``) stay alone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence

import pymarc
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from libext.models import Record
from libext.models.base import utcnow
from libext.models.search import SearchCluster, SearchFacet, SearchIsbn, SearchMember
from libext.search.clusterkey import EditionFacts, edition_facts, same_edition
from libext.search.documents import MemberData, SearchDoc, build_doc
from libext.search.engine import SearchEngine, engine_for
from libext.search.facets import FacetCodes, pack
from marc.extract import Extracted, extract

__all__ = ["SearchIndexer", "after_write", "bulk_load"]


def _parse(marc: bytes) -> pymarc.Record | None:
    try:
        return pymarc.Record(data=marc, to_unicode=True, force_utf8=True)
    except Exception:  # a record the store kept but pymarc cannot re-read: index nothing
        return None


def _facts_json(facts: EditionFacts) -> dict[str, object]:
    data = dataclasses.asdict(facts)
    data["publisher"] = sorted(facts.publisher)
    return data


def _facts_from(data: dict[str, object]) -> EditionFacts:
    values = dict(data)
    values["isbns"] = tuple(values.get("isbns") or ())  # type: ignore[arg-type]
    values["publisher"] = frozenset(values.get("publisher") or ())  # type: ignore[arg-type]
    return EditionFacts(**values)  # type: ignore[arg-type]


class SearchIndexer:
    """Re-clusters and re-indexes records in one session (the caller commits)."""

    def __init__(self, session: Session, engine: SearchEngine | None = None) -> None:
        self.session = session
        self.engine = engine or engine_for(session)
        self.facet_codes = FacetCodes(session)

    # -- the store hook ----------------------------------------------------------------------
    def records_changed(self, changed: Sequence[int], deleted: Sequence[int]) -> None:
        """Follow a store write: re-cluster ``changed`` records, unlink ``deleted`` ones."""
        dirty: set[int] = set()
        for record_id in deleted:
            dirty |= self._unlink(record_id)
        records = self.session.scalars(
            select(Record)
            .where(Record.id.in_(list(changed)))
            .options(selectinload(Record.holdings))
            .order_by(Record.id)
        ).all()
        for record in records:
            if record.deleted:
                dirty |= self._unlink(record.id)
            else:
                dirty |= self._assign(record)
        self.session.flush()
        self.refresh(dirty)

    def rebuild(self, batch: int = 500) -> int:
        """Re-cluster and re-index every record from scratch; returns the number of clusters."""
        self.engine.clear(self.session)
        for model in (SearchFacet, SearchIsbn, SearchMember, SearchCluster):
            self.session.execute(delete(model))
        ids = self.session.scalars(
            select(Record.id).where(Record.deleted.is_(False)).order_by(Record.id)
        ).all()
        for start in range(0, len(ids), batch):
            self.records_changed(ids[start : start + batch], [])
        return len(self.session.scalars(select(SearchCluster.id)).all())

    def split(self, record_id: int) -> int | None:
        """Take a record out of its cluster into one of its own (a cataloguer's correction).

        Returns the new cluster id, or None when the record is not indexed.
        """
        member = self.session.get(SearchMember, record_id)
        if member is None:
            return None
        old = member.cluster_id
        cluster = SearchCluster()
        self.session.add(cluster)
        self.session.flush()
        member.cluster_id = cluster.id
        member.manual = True
        self.session.flush()
        self.refresh({old, cluster.id})
        return cluster.id

    # -- clustering --------------------------------------------------------------------------
    def _unlink(self, record_id: int) -> set[int]:
        member = self.session.get(SearchMember, record_id)
        self.session.execute(delete(SearchIsbn).where(SearchIsbn.record_id == record_id))
        if member is None:
            return set()
        cluster_id = member.cluster_id
        self.session.delete(member)
        return {cluster_id}

    def _assign(self, record: Record) -> set[int]:
        parsed = _parse(record.marc)
        if parsed is None:
            return self._unlink(record.id)
        facts = edition_facts(parsed)
        data = extract(parsed)
        codes = [record.library.code] + [
            h.library.code for h in record.holdings if h.library is not None
        ]
        payload = json.dumps(
            {
                "facts": _facts_json(facts),
                "data": dataclasses.asdict(data),
                "libraries": list(dict.fromkeys(codes)),
                "completeness": len(parsed.fields) * 100_000 + len(record.marc),
            },
            ensure_ascii=False,
        )
        member = self.session.get(SearchMember, record.id)
        dirty: set[int] = set()
        target = None
        if member is not None and member.manual:
            target = member.cluster_id
        else:
            target = self._find_cluster(record.id, facts)
        if target is None:
            if member is not None and self._alone(member.cluster_id, record.id):
                target = member.cluster_id
            else:
                cluster = SearchCluster()
                self.session.add(cluster)
                self.session.flush()
                target = cluster.id
        if member is None:
            member = SearchMember(record_id=record.id, cluster_id=target, manual=False)
            self.session.add(member)
        elif member.cluster_id != target:
            dirty.add(member.cluster_id)
            member.cluster_id = target
        member.work_key = facts.work_key[:512]
        member.facts = payload
        dirty.add(target)
        self.session.execute(delete(SearchIsbn).where(SearchIsbn.record_id == record.id))
        for isbn in facts.isbns:
            self.session.add(SearchIsbn(isbn=isbn, record_id=record.id))
        self.session.flush()
        return dirty

    def _alone(self, cluster_id: int, record_id: int) -> bool:
        others = self.session.scalars(
            select(SearchMember.record_id).where(
                SearchMember.cluster_id == cluster_id, SearchMember.record_id != record_id
            )
        ).first()
        return others is None

    def _find_cluster(self, record_id: int, facts: EditionFacts) -> int | None:
        candidates: list[int] = []
        if facts.isbns:
            candidates += self.session.scalars(
                select(SearchMember.cluster_id)
                .join(SearchIsbn, SearchIsbn.record_id == SearchMember.record_id)
                .where(SearchIsbn.isbn.in_(facts.isbns), SearchMember.record_id != record_id)
                .order_by(SearchMember.cluster_id)
            ).all()
        if facts.title:
            candidates += self.session.scalars(
                select(SearchMember.cluster_id)
                .where(
                    SearchMember.work_key == facts.work_key[:512],
                    SearchMember.record_id != record_id,
                )
                .order_by(SearchMember.cluster_id)
            ).all()
        for cluster_id in dict.fromkeys(candidates):
            members = self.session.scalars(
                select(SearchMember).where(
                    SearchMember.cluster_id == cluster_id, SearchMember.record_id != record_id
                )
            ).all()
            if not members or any(m.manual for m in members):
                continue
            others = [_facts_from(json.loads(m.facts)["facts"]) for m in members]
            if all(same_edition(facts, other) for other in others):
                return cluster_id
        return None

    # -- documents ---------------------------------------------------------------------------
    def refresh(self, cluster_ids: Iterable[int]) -> None:
        """Rebuild cluster rows, facets and full-text rows of these clusters."""
        ids = sorted(set(cluster_ids))
        if not ids:
            return
        members: dict[int, list[MemberData]] = {cid: [] for cid in ids}
        keys: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            rows = self.session.scalars(
                select(SearchMember)
                .where(SearchMember.cluster_id.in_(ids[start : start + 500]))
                .order_by(SearchMember.record_id)
            ).all()
            for m in rows:
                payload = json.loads(m.facts)
                members[m.cluster_id].append(
                    MemberData(
                        record_id=m.record_id,
                        library_codes=payload["libraries"],
                        data=Extracted(**payload["data"]),
                        completeness=payload["completeness"],
                    )
                )
                keys.setdefault(m.cluster_id, _facts_from(payload["facts"]).key)
        empty = [cid for cid, ms in members.items() if not ms]
        if empty:
            self.engine.delete(self.session, empty)
            self.session.execute(delete(SearchCluster).where(SearchCluster.id.in_(empty)))
        docs = [build_doc(cid, ms) for cid, ms in members.items() if ms]
        self.store_docs(docs, keys)

    def store_docs(self, docs: Sequence[SearchDoc], keys: dict[int, str]) -> None:
        """Write cluster rows, facet rows and full-text rows of built documents."""
        if not docs:
            return
        now = utcnow()
        for doc in docs:
            cluster = self.session.get(SearchCluster, doc.cluster_id)
            if cluster is None:
                cluster = SearchCluster(id=doc.cluster_id)
                self.session.add(cluster)
            cluster.key = keys.get(doc.cluster_id, "")[:512]
            cluster.representative_id = doc.representative_id
            cluster.title = doc.title
            cluster.authors = "\n".join(doc.authors)
            cluster.year = doc.year
            cluster.isbns = " ".join(doc.isbns)
            cluster.material_type = doc.material_type[:2]
            cluster.language = doc.language[:3]
            cluster.title_sort = doc.title_sort
            cluster.library_count = doc.library_count
            doc.facet_codes = pack(self.facet_codes.codes(doc.facets))
            cluster.facet_ids = doc.facet_codes
            cluster.updated = now
        self.session.flush()
        self.engine.index(self.session, docs)
        self.session.flush()


def bulk_load(
    session: Session,
    clusters: Iterable[tuple[int, str, Sequence[MemberData]]],
    engine: SearchEngine | None = None,
    batch: int = 2000,
) -> int:
    """Index already-grouped clusters (id, key, members) with bulk inserts; returns the count.

    For loading a large catalogue into empty search tables (and the benchmark): no per-row
    ORM work, one ``executemany`` per table and batch. Member links are not written.
    """
    engine = engine or engine_for(session)
    cluster_table = SearchCluster.__table__
    codes = FacetCodes(session)
    next_facet_id = [session.scalar(select(func.max(SearchFacet.id))) or 0]
    now = utcnow()
    count = 0
    docs: list[SearchDoc] = []
    keys: dict[int, str] = {}

    def flush() -> None:
        new_values: list[dict[str, object]] = []
        for d in docs:
            d.facet_codes = pack(codes.bulk_codes(d.facets, next_facet_id, new_values))
        if new_values:
            session.execute(SearchFacet.__table__.insert(), new_values)
        session.execute(
            cluster_table.insert(),
            [
                {
                    "id": d.cluster_id,
                    "key": keys[d.cluster_id][:512],
                    "representative_id": None,
                    "title": d.title,
                    "authors": "\n".join(d.authors),
                    "year": d.year,
                    "isbns": " ".join(d.isbns),
                    "material_type": d.material_type[:2],
                    "language": d.language[:3],
                    "title_sort": d.title_sort,
                    "library_count": d.library_count,
                    "facet_ids": d.facet_codes,
                    "updated": now,
                }
                for d in docs
            ],
        )
        engine.index(session, docs, fresh=True)
        docs.clear()
        keys.clear()

    for cluster_id, key, members in clusters:
        docs.append(build_doc(cluster_id, members))
        keys[cluster_id] = key
        count += 1
        if len(docs) >= batch:
            flush()
    if docs:
        flush()
    return count


def after_write(session: Session, changed: Sequence[int], deleted: Sequence[int]) -> None:
    """The record store's hook: keep clusters and the index in step with every write."""
    SearchIndexer(session).records_changed(changed, deleted)
