"""Keeps clusters and the full-text index in step with the record store.

:func:`after_write` is the store's hook: every import, harvest, edit or deletion passes the
ids it changed, and only the clusters those records leave or join are re-clustered and
re-indexed, in the writer's transaction. A record joins the first existing cluster that
shares an ISBN or its work key *and* whose every member passes
:func:`libext.search.clusterkey.same_edition`; otherwise it gets a cluster of its own.
Records a cataloguer split off (``manual``) stay alone.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pymarc
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from libext.bulk import any_of, insert_rows, reserve_ids, update_rows
from libext.models import Holding, Library, Record
from libext.models.base import utcnow
from libext.models.search import SearchCluster, SearchFacet, SearchIsbn, SearchMember
from libext.search.clusterkey import EditionFacts, edition_facts, same_edition
from libext.search.documents import MemberData, SearchDoc, add_libraries, build_doc, member_doc
from libext.search.engine import SearchEngine, engine_for
from libext.search.facets import FacetCodes, pack
from libext.store import created_records, prepared_extras
from marc.extract import ByTag, Extracted, complete, extract
from marc.pickling import flat_pickle

__all__ = [
    "PREPARER_NAME",
    "MemberPrep",
    "SearchIndexer",
    "after_write",
    "bulk_load",
    "member_prep",
]

#: Ids per IN list.
_CHUNK = 500
#: The name :func:`member_prep` is registered under as the store's preparer.
PREPARER_NAME = "search"
_DATA_FIELDS = dataclasses.fields(Extracted)
_FACT_FIELDS = dataclasses.fields(EditionFacts)


def _parse(marc: bytes) -> pymarc.Record | None:
    try:
        return pymarc.Record(data=marc, to_unicode=True, force_utf8=True)
    except Exception:  # a record the store kept but pymarc cannot re-read: index nothing
        return None


def _facts_json(facts: EditionFacts) -> dict[str, object]:
    # Shallow: dataclasses.asdict deep-copies every value, a cost paid per record indexed.
    data = {f.name: getattr(facts, f.name) for f in _FACT_FIELDS}
    data["isbns"] = list(facts.isbns)
    data["publisher"] = sorted(facts.publisher)
    return data


def _facts_from(data: dict[str, object]) -> EditionFacts:
    values = dict(data)
    values["isbns"] = tuple(values.get("isbns") or ())  # type: ignore[arg-type]
    values["publisher"] = frozenset(values.get("publisher") or ())  # type: ignore[arg-type]
    return EditionFacts(**values)  # type: ignore[arg-type]


@dataclasses.dataclass(slots=True)
class _Member:
    """A member link as the batch sees it (the database row, then this batch's changes)."""

    cluster_id: int
    work_key: str
    manual: bool
    payload: str
    facts: EditionFacts | None = None  # parsed from ``payload`` when first compared

    def edition(self) -> EditionFacts:
        if self.facts is None:
            self.facts = _facts_from(json.loads(self.payload)["facts"])
        return self.facts


@flat_pickle
@dataclasses.dataclass(slots=True)
class MemberPrep:
    """What indexing needs of one record, worked out from the parsed record: its clustering
    facts, its member payload as JSON members, and the document it has when its cluster holds
    it alone (most records of a library's own load). The holding libraries are added when the
    record is indexed, from the database."""

    facts: EditionFacts
    body: str
    doc: SearchDoc

    def payload(self, library_codes: list[str]) -> str:
        """The member payload (JSON object) with the record's holding libraries."""
        codes = json.dumps(library_codes, ensure_ascii=False)
        return "{" + self.body + ', "libraries": ' + codes + "}"


def member_prep(
    record: pymarc.Record | ByTag,
    marc: bytes,
    columns: dict[str, object] | None = None,
    data: Extracted | None = None,
) -> MemberPrep:
    """The store's preparer for the search index (see :data:`libext.store.Preparer`): run
    where the record is read (a bulk load's reading workers), so that indexing a write need
    not read the record back and parse it again. ``columns`` are not needed; ``data`` is the
    record's ``extract(full=False)`` when the caller has it (completed here, in place)."""
    del columns
    fields = record if isinstance(record, ByTag) else ByTag(record)
    data = extract(fields) if data is None else complete(fields, data)
    facts = edition_facts(fields, data)
    completeness = len(record.fields) * 100_000 + len(marc)
    body = json.dumps(
        {
            "facts": _facts_json(facts),
            "data": {f.name: getattr(data, f.name) for f in _DATA_FIELDS},
            "completeness": completeness,
        },
        ensure_ascii=False,
    )
    return MemberPrep(facts, body[1:-1], member_doc(data, completeness))


@dataclasses.dataclass(slots=True)
class _Prepared:
    """A changed record read and parsed: None facts when it is deleted or unreadable."""

    record_id: int
    facts: EditionFacts | None = None
    payload: str = ""
    prep: MemberPrep | None = None
    library_codes: list[str] = dataclasses.field(default_factory=list)

    def alone_doc(self, cluster_id: int) -> SearchDoc | None:
        """The document of ``cluster_id`` when it holds this record alone (None unprepared)."""
        if self.prep is None:
            return None
        doc = copy.copy(self.prep.doc)  # shallow, as dataclasses.replace (several times slower)
        doc.cluster_id, doc.representative_id = cluster_id, self.record_id
        # As build_doc: a library without a code adds no facet value and no count.
        return add_libraries(doc, [code for code in self.library_codes if code])


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _order(cluster_id: int) -> tuple[int, int]:
    """Sort key of cluster ids: clusters this batch creates (provisional negative ids, in
    creation order) come after every stored one, as the ids the database gives them will."""
    return (1, -cluster_id) if cluster_id < 0 else (0, cluster_id)


class _Batch:
    """The clustering state of one store write, loaded with a few IN queries.

    Records are assigned one after the other in id order exactly as they would be one at a
    time against the database; the state holds every stored member that can matter (members
    sharing an ISBN or work key with a changed record, the batch's own members, and all
    members of their clusters), updated in memory as the batch proceeds.
    """

    def __init__(
        self, session: Session, prepared: Sequence[_Prepared], deleted: Sequence[int]
    ) -> None:
        self.session = session
        self.members: dict[int, _Member] = {}
        self.clusters: dict[int, set[int]] = {}
        self.by_isbn: dict[str, set[int]] = {}
        self.by_key: dict[str, set[int]] = {}
        self.isbns_of: dict[int, tuple[str, ...]] = {}
        self.new_clusters = 0
        self.touched: dict[int, None] = {}
        self.dirty: set[int] = set()
        #: Provisional (negative) ids of the clusters this batch creates -> database ids.
        self.real: dict[int, int] = {}
        touched_ids = list(dict.fromkeys([*deleted, *(p.record_id for p in prepared)]))
        isbns = sorted({i for p in prepared if p.facts for i in p.facts.isbns})
        keys = sorted({p.facts.work_key[:512] for p in prepared if p.facts and p.facts.title})
        cols = (
            SearchMember.record_id,
            SearchMember.cluster_id,
            SearchMember.work_key,
            SearchMember.manual,
            SearchMember.facts,
        )
        # Records the store inserted in this flush: no member or ISBN row can refer to them
        # (a new id was never used before), nothing to load or delete for them.
        self.created = created_records(session)
        for chunk in _chunks([r for r in touched_ids if r not in self.created]):
            self._load(
                session.execute(select(*cols).where(any_of(session, SearchMember.record_id, chunk)))
            )
        self.original = set(self.members)
        for chunk in _chunks(isbns):
            rows = session.execute(
                select(SearchIsbn.isbn, *cols)
                .join(SearchMember, SearchMember.record_id == SearchIsbn.record_id)
                .where(any_of(session, SearchIsbn.isbn, chunk))
            ).all()
            self._load(row[1:] for row in rows)
            for row in rows:
                self.by_isbn.setdefault(row[0], set()).add(row[1])
                self.isbns_of[row[1]] = (*self.isbns_of.get(row[1], ()), row[0])
        for chunk in _chunks(keys):
            self._load(
                session.execute(select(*cols).where(any_of(session, SearchMember.work_key, chunk)))
            )
        cluster_ids = sorted({m.cluster_id for m in self.members.values()})
        for chunk in _chunks(cluster_ids):
            self._load(
                session.execute(
                    select(*cols).where(any_of(session, SearchMember.cluster_id, chunk))
                )
            )
        for record_id, member in self.members.items():
            self.clusters.setdefault(member.cluster_id, set()).add(record_id)
            self.by_key.setdefault(member.work_key, set()).add(record_id)

    def _load(self, rows: Iterable[Any]) -> None:
        for record_id, cluster_id, work_key, manual, payload in rows:
            if record_id not in self.members:
                self.members[record_id] = _Member(cluster_id, work_key, bool(manual), payload)

    # -- the clustering rules, one record at a time --------------------------------------
    def unlink(self, record_id: int) -> None:
        self.touched[record_id] = None
        self._drop_isbns(record_id)
        member = self.members.pop(record_id, None)
        if member is None:
            return
        self.clusters[member.cluster_id].discard(record_id)
        self.by_key[member.work_key].discard(record_id)
        self.dirty.add(member.cluster_id)

    def _drop_isbns(self, record_id: int) -> None:
        for isbn in self.isbns_of.pop(record_id, ()):
            self.by_isbn[isbn].discard(record_id)

    def assign(self, record_id: int, facts: EditionFacts, payload: str) -> None:
        self.touched[record_id] = None
        member = self.members.get(record_id)
        if member is not None and member.manual:
            target: int | None = member.cluster_id
        else:
            target = self._find_cluster(record_id, facts)
        if target is None:
            if member is not None and self._alone(member.cluster_id, record_id):
                target = member.cluster_id
            else:
                self.new_clusters += 1
                target = -self.new_clusters
                self.clusters[target] = set()
        work_key = facts.work_key[:512]
        if member is None:
            member = _Member(target, work_key, False, payload, facts)
            self.members[record_id] = member
        else:
            if member.cluster_id != target:
                self.dirty.add(member.cluster_id)
                self.clusters[member.cluster_id].discard(record_id)
                member.cluster_id = target
            self.by_key[member.work_key].discard(record_id)
            member.work_key, member.payload, member.facts = work_key, payload, facts
        self.clusters[target].add(record_id)
        self.by_key.setdefault(work_key, set()).add(record_id)
        self.dirty.add(target)
        self._drop_isbns(record_id)
        isbns = tuple(dict.fromkeys(facts.isbns))
        self.isbns_of[record_id] = isbns
        for isbn in isbns:
            self.by_isbn.setdefault(isbn, set()).add(record_id)

    def _alone(self, cluster_id: int, record_id: int) -> bool:
        return not any(r != record_id for r in self.clusters.get(cluster_id, ()))

    def _find_cluster(self, record_id: int, facts: EditionFacts) -> int | None:
        members = self.members
        candidates: list[int] = []
        if facts.isbns:
            found = {
                members[r].cluster_id
                for isbn in facts.isbns
                for r in self.by_isbn.get(isbn, ())
                if r != record_id and r in members
            }
            candidates += sorted(found, key=_order)
        if facts.title:
            found = {
                members[r].cluster_id
                for r in self.by_key.get(facts.work_key[:512], ())
                if r != record_id
            }
            candidates += sorted(found, key=_order)
        for cluster_id in dict.fromkeys(candidates):
            others = [members[r] for r in self.clusters[cluster_id] if r != record_id]
            if not others or any(m.manual for m in others):
                continue
            if all(same_edition(facts, m.edition()) for m in others):
                return cluster_id
        return None

    # -- writing the outcome ---------------------------------------------------------------
    def write(self, docs: dict[int, tuple[SearchDoc, str]]) -> set[int]:
        """Write clusters, members and ISBNs with bulk statements; returns the dirty clusters.

        ``docs`` are documents (facet codes packed) and keys of new clusters, by provisional
        id: their rows are written whole. Other new clusters get a blank row, which their
        document fills in once built from the members written here.
        """
        session = self.session
        real: dict[int, int] = {}
        if self.new_clusters:
            now = utcnow()
            blank = {
                "key": "", "representative_id": None, "title": "", "authors": "", "year": None,
                "isbns": "", "material_type": "", "language": "", "title_sort": b"",
                "library_count": 0, "facet_ids": b"", "updated": now,
            }  # fmt: skip
            table = SearchCluster.__table__
            ids = reserve_ids(session, table, self.new_clusters)
            rows = []
            for n, cluster_id in enumerate(ids):
                real[-(n + 1)] = cluster_id
                entry = docs.get(-(n + 1))
                if entry is None:
                    rows.append({"id": cluster_id, **blank})
                else:
                    doc, key = entry
                    row = _cluster_row(doc, key, doc.representative_id, now)
                    rows.append({"id": cluster_id, **row})
            insert_rows(session, table, rows)
        self.real = real
        touched = list(self.touched)
        gone = [r for r in touched if r in self.original and r not in self.members]
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        isbn_rows: list[dict[str, Any]] = []
        for record_id in touched:
            member = self.members.get(record_id)
            if member is None:
                continue
            row = {
                "cluster_id": real.get(member.cluster_id, member.cluster_id),
                "work_key": member.work_key,
                "facts": member.payload,
                "manual": member.manual,
            }
            if record_id in self.original:
                updates.append({**row, "record_id": record_id})
            else:
                inserts.append({**row, "record_id": record_id})
            isbn_rows += [{"isbn": i, "record_id": record_id} for i in self.isbns_of[record_id]]
        member_table = SearchMember.__table__
        isbn_table = SearchIsbn.__table__
        for chunk in _chunks(gone):
            session.execute(
                delete(member_table).where(any_of(session, member_table.c.record_id, chunk))
            )
        for chunk in _chunks([r for r in touched if r not in self.created]):
            session.execute(
                delete(isbn_table).where(any_of(session, isbn_table.c.record_id, chunk))
            )
        update_rows(session, member_table, updates, key="record_id")
        if inserts:
            insert_rows(session, member_table, inserts)
        if isbn_rows:
            insert_rows(session, isbn_table, isbn_rows)
        _expire(session, (SearchMember, SearchIsbn))
        return {real.get(c, c) for c in self.dirty}


def _expire(session: Session, models: tuple[type, ...]) -> None:
    """Expire loaded objects of ``models``: bulk statements bypassed them."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, models):
            session.expire(obj)


class SearchIndexer:
    """Re-clusters and re-indexes records in one session (the caller commits)."""

    def __init__(self, session: Session, engine: SearchEngine | None = None) -> None:
        self.session = session
        self.engine = engine or engine_for(session)
        self.facet_codes = FacetCodes(session)

    # -- the store hook ----------------------------------------------------------------------
    def records_changed(self, changed: Sequence[int], deleted: Sequence[int]) -> None:
        """Follow a store write: re-cluster ``changed`` records, unlink ``deleted`` ones.

        The whole write is one batch: the records are read in one query, the clusters they
        may join are looked up with a few IN queries, and the outcome is written with bulk
        statements; records are still assigned in id order as if one at a time.
        """
        prepared = self._prepare(changed)
        batch = _Batch(self.session, prepared, deleted)
        for record_id in deleted:
            batch.unlink(record_id)
        for item in prepared:
            if item.facts is None:
                batch.unlink(item.record_id)
            else:
                batch.assign(item.record_id, item.facts, item.payload)
        # A cluster that now holds one changed record alone takes the document prepared
        # with the record (in a bulk load's reading workers); others are built from their
        # members once written. A new cluster's row is then written whole, at once.
        by_id = {item.record_id: item for item in prepared}
        ready: dict[int, tuple[SearchDoc, str]] = {}
        for cluster_id in batch.dirty:
            members = batch.clusters.get(cluster_id)
            if not members or len(members) != 1:
                continue
            item = by_id.get(next(iter(members)))
            doc = None if item is None or item.facts is None else item.alone_doc(cluster_id)
            if doc is not None:
                ready[cluster_id] = (doc, item.facts.key)  # type: ignore[union-attr]
        # New clusters in the order the database numbers them (-1, -2... as created).
        new_docs = dict(sorted(((c, e) for c, e in ready.items() if c < 0), reverse=True))
        self._code_facets([doc for doc, _key in new_docs.values()])
        dirty = batch.write(new_docs)
        self.session.flush()
        for cluster_id, (doc, _key) in new_docs.items():
            doc.cluster_id = batch.real[cluster_id]
        self.refresh(
            dirty,
            {doc.cluster_id: (doc, key) for doc, key in ready.values()},
            written={doc.cluster_id for doc, _key in new_docs.values()},
        )

    def _prepare(self, changed: Sequence[int]) -> list[_Prepared]:
        """The changed records (in id order) parsed, with their facts and member payload."""
        found: dict[int, _Prepared] = {}
        # Records saved in prepared form come with their facts worked out already.
        ready = prepared_extras(self.session, PREPARER_NAME)
        # Those this flush inserted are live, and every holding of a new record is its own
        # library's: nothing of them to read back but their library's code.
        created = created_records(self.session)
        fresh = {rid for rid in changed if rid in created and rid in ready}
        if fresh:
            code_of = dict(
                self.session.execute(
                    select(Library.id, Library.code).where(
                        any_of(self.session, Library.id, sorted({created[r] for r in fresh}))
                    )
                ).all()
            )
            for record_id in fresh:
                found[record_id] = self._prepared(
                    record_id, ready[record_id], [code_of[created[record_id]]]
                )
        for chunk in _chunks(sorted(set(changed) - fresh)):
            rows = self.session.execute(
                select(Record.id, Record.deleted, Library.code)
                .join(Library, Library.id == Record.library_id)
                .where(any_of(self.session, Record.id, chunk))
            ).all()
            # Only live records without prepared facts are read back (their MARC parsed).
            unread = [rid for rid, deleted, _code in rows if not deleted and rid not in ready]
            marc_of: dict[int, bytes] = {}
            if unread:
                marc_of = dict(
                    self.session.execute(
                        select(Record.id, Record.marc).where(
                            any_of(self.session, Record.id, unread)
                        )
                    ).all()
                )
            holders: dict[int, list[str]] = {}
            for record_id, code in self.session.execute(
                select(Holding.record_id, Library.code)
                .join(Library, Library.id == Holding.library_id)
                .where(any_of(self.session, Holding.record_id, chunk))
                .order_by(Holding.record_id, Holding.id)
            ):
                holders.setdefault(record_id, []).append(code)
            for record_id, deleted, library_code in rows:
                prep = None if deleted else ready.get(record_id)
                if prep is None and not deleted:
                    marc = marc_of[record_id]
                    parsed = _parse(marc)
                    prep = None if parsed is None else member_prep(parsed, marc)
                codes = [library_code, *holders.get(record_id, ())]
                found[record_id] = self._prepared(record_id, prep, codes)
        return [found[record_id] for record_id in sorted(found)]

    @staticmethod
    def _prepared(record_id: int, prep: object, library_codes: list[str]) -> _Prepared:
        """A changed record as indexing takes it: none of its facts when it is deleted or
        unreadable (``prep`` None); ``library_codes`` cataloguing library first."""
        if not isinstance(prep, MemberPrep):
            return _Prepared(record_id)
        codes = list(dict.fromkeys(library_codes))
        return _Prepared(record_id, prep.facts, prep.payload(codes), prep, codes)

    def rebuild(self, batch: int = 500) -> int:
        """Re-cluster and re-index every record from scratch; returns the number of clusters.

        Records a cataloguer split off are split off again: clustering rules may have changed,
        but a cataloguer's correction outlives a rebuild.
        """
        split_off = self.session.scalars(
            select(SearchMember.record_id).where(SearchMember.manual.is_(True))
        ).all()
        self.engine.clear(self.session)
        for model in (SearchFacet, SearchIsbn, SearchMember, SearchCluster):
            self.session.execute(delete(model))
        ids = self.session.scalars(
            select(Record.id).where(Record.deleted.is_(False)).order_by(Record.id)
        ).all()
        for start in range(0, len(ids), batch):
            self.records_changed(ids[start : start + batch], [])
        for record_id in split_off:
            self.split(record_id)
        return len(self.session.scalars(select(SearchCluster.id)).all())

    def split(self, record_id: int) -> int | None:
        """Take a record out of its cluster into one of its own (a cataloguer's correction).

        Returns the new cluster id, or None when the record is not indexed.
        """
        member = self.session.get(SearchMember, record_id)
        if member is None:
            return None
        old = member.cluster_id
        others = self.session.scalar(
            select(func.count())
            .select_from(SearchMember)
            .where(SearchMember.cluster_id == old, SearchMember.record_id != record_id)
        )
        if not others:  # already on its own: only remember that it must stay so
            member.manual = True
            self.session.flush()
            return old
        cluster = SearchCluster()
        self.session.add(cluster)
        self.session.flush()
        member.cluster_id = cluster.id
        member.manual = True
        self.session.flush()
        self.refresh({old, cluster.id})
        return cluster.id

    # -- documents ---------------------------------------------------------------------------
    def refresh(
        self,
        cluster_ids: Iterable[int],
        ready: dict[int, tuple[SearchDoc, str]] | None = None,
        written: Collection[int] = (),
    ) -> None:
        """Rebuild cluster rows, facets and full-text rows of these clusters.

        ``ready`` holds documents (and cluster keys) already built for some of them; of
        those, the clusters in ``written`` have their rows written already.
        """
        ready = ready or {}
        ids = sorted(set(cluster_ids) - set(ready))
        if not ids and not ready:
            return
        members: dict[int, list[MemberData]] = {cid: [] for cid in ids}
        keys: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            rows = self.session.execute(
                select(SearchMember.record_id, SearchMember.cluster_id, SearchMember.facts)
                .where(any_of(self.session, SearchMember.cluster_id, ids[start : start + 500]))
                .order_by(SearchMember.record_id)
            ).all()
            for record_id, cluster_id, facts in rows:
                payload = json.loads(facts)
                members[cluster_id].append(
                    MemberData(
                        record_id=record_id,
                        library_codes=payload["libraries"],
                        data=Extracted(**payload["data"]),
                        completeness=payload["completeness"],
                    )
                )
                if cluster_id not in keys:
                    keys[cluster_id] = _facts_from(payload["facts"]).key
        empty = [cid for cid, ms in members.items() if not ms]
        if empty:
            self.engine.delete(self.session, empty)
            self.session.execute(delete(SearchCluster).where(SearchCluster.id.in_(empty)))
        docs = [build_doc(cid, ms) for cid, ms in members.items() if ms]
        for cluster_id, (doc, key) in ready.items():
            docs.append(doc)
            keys[cluster_id] = key
        self.store_docs(docs, keys, written)

    def _code_facets(self, docs: Sequence[SearchDoc]) -> None:
        """Number the facet values of ``docs`` and pack them into the documents."""
        for doc, codes in zip(
            docs, self.facet_codes.codes_many([d.facets for d in docs]), strict=True
        ):
            doc.facet_codes = pack(codes)

    def store_docs(
        self, docs: Sequence[SearchDoc], keys: dict[int, str], written: Collection[int] = ()
    ) -> None:
        """Write cluster rows, facet rows and full-text rows of built documents (only the
        full-text rows of those whose clusters are ``written`` already)."""
        if not docs:
            return
        # In id order: FTS5 writes out its pending terms as a new segment whenever a row's
        # rowid is not above the last one's, so rows out of order cost a segment each (and
        # merges later), several times the insert itself.
        docs = sorted(docs, key=lambda doc: doc.cluster_id)
        now = utcnow()
        unwritten = [doc for doc in docs if doc.cluster_id not in written]
        stored: set[int] = set(
            self.session.scalars(
                select(SearchCluster.id).where(
                    any_of(self.session, SearchCluster.id, [doc.cluster_id for doc in unwritten])
                )
            )
            if unwritten
            else ()
        )
        self._code_facets(unwritten)
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for doc in unwritten:
            row = _cluster_row(doc, keys.get(doc.cluster_id, ""), doc.representative_id, now)
            if doc.cluster_id in stored:
                updates.append({**row, "id": doc.cluster_id})
            else:
                inserts.append({**row, "id": doc.cluster_id})
        table = SearchCluster.__table__
        update_rows(self.session, table, updates)
        if inserts:
            insert_rows(self.session, table, inserts)
        _expire(self.session, (SearchCluster,))
        self.engine.index(self.session, docs)
        self.session.flush()


def _cluster_row(
    doc: SearchDoc, key: str, representative_id: int | None, now: datetime
) -> dict[str, Any]:
    """The ``libext_search_cluster`` columns of ``doc`` (all but ``id``)."""
    return {
        "key": key[:512],
        "representative_id": representative_id,
        "title": doc.title,
        "authors": "\n".join(doc.authors),
        "year": doc.year,
        "isbns": " ".join(doc.isbns),
        "material_type": doc.material_type[:2],
        "language": doc.language[:3],
        "title_sort": doc.title_sort,
        "library_count": doc.library_count,
        "facet_ids": doc.facet_codes,
        "updated": now,
    }


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
            [{"id": d.cluster_id, **_cluster_row(d, keys[d.cluster_id], None, now)} for d in docs],
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
