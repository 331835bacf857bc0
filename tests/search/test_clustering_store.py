"""Clusters follow every store write: import, re-import, edit, deletion, a cataloguer's split."""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from collections.abc import Callable

import pymarc
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from libext.models import Library, Record
from libext.models.search import SearchCluster, SearchMember
from libext.search.documents import MemberData, SearchDoc
from libext.search.engine import SearchEngine
from libext.search.indexer import SearchIndexer
from libext.search.service import run_search
from tests.search.test_clusterkey import book


def setup_libraries(session: Session) -> dict[str, Library]:
    libs = {
        code: Library(code=code, name=name)
        for code, name in (
            ("HNM", "Thư viện tỉnh"),
            ("PLY", "Thư viện Phủ Lý"),
            ("KBG", "Thư viện Kim Bảng"),
        )
    }
    session.add_all(libs.values())
    session.commit()
    return libs


def save(app: Flask, code: str, control: str, record: pymarc.Record, call: str = "") -> int:
    state = app.extensions["libext"]
    session = state.db.session
    record.add_ordered_field(pymarc.Field(tag="001", data=control))
    if call:
        record.add_ordered_field(
            pymarc.Field(
                "852",
                pymarc.Indicators("1", " "),
                [pymarc.Subfield("a", code), pymarc.Subfield("h", call)],
            )
        )
    store = state.store()
    lib = session.scalar(select(Library).where(Library.code == code))
    result = store.save(lib, record)
    store.flush()
    session.commit()
    return result.record.id


def cluster_of(session: Session, record_id: int) -> int:
    return session.get(SearchMember, record_id).cluster_id


def test_duplicates_from_three_libraries_form_one_result(app: Flask) -> None:
    with app.app_context():
        session = app.extensions["libext"].db.session
        setup_libraries(session)
        a = save(app, "HNM", "h1", book("Truyện Kiều", isbn="978-604-69-1234-7"), "895.9221 NG-D")
        b = save(
            app,
            "PLY",
            "p1",
            book("Truyen Kieu", author="Nguyen Du", isbn="9786046912347"),
            "895.92 NG",
        )
        c = save(app, "KBG", "k1", book("Truyện Kiều", isbn="604-69-1234-4"))
        other = save(app, "KBG", "k2", book("Truyện Kiều", year="2019"))
        assert cluster_of(session, a) == cluster_of(session, b) == cluster_of(session, c)
        assert cluster_of(session, other) != cluster_of(session, a)
        found = run_search(session, "truyen kieu nguyen du")
        assert found.total == 2
        first = next(r for r in found.results if r.year == 2015)
        assert {h.code for h in first.holders} == {"HNM", "PLY", "KBG"}
        assert {h.call_number for h in first.holders} >= {"895.9221 NG-D", "895.92 NG"}
        cluster = session.get(SearchCluster, cluster_of(session, a))
        assert cluster.key == "isbn:9786046912347"
        assert cluster.library_count == 3


def test_edit_moves_a_record_between_clusters_and_deletion_unlinks(app: Flask) -> None:
    with app.app_context():
        session = app.extensions["libext"].db.session
        setup_libraries(session)
        a = save(app, "HNM", "h1", book("Số đỏ", author="Vũ Trọng Phụng", year="2010"))
        b = save(app, "PLY", "p1", book("Số đỏ", author="Vũ Trọng Phụng", year="2010"))
        assert cluster_of(session, a) == cluster_of(session, b)
        # PLY corrects its year: the record leaves the cluster.
        save(app, "PLY", "p1", book("Số đỏ", author="Vũ Trọng Phụng", year="2012"))
        assert cluster_of(session, a) != cluster_of(session, b)
        assert run_search(session, "so do").total == 2
        # HNM withdraws its record: its edition disappears from the index.
        state = app.extensions["libext"]
        store = state.store()
        store.delete(session.get(Record, a))
        store.flush()
        session.commit()
        assert session.get(SearchMember, a) is None
        found = run_search(session, "so do")
        assert found.total == 1 and found.results[0].year == 2012
        assert session.scalar(select(func.count()).select_from(SearchCluster)) == 1


def test_rebuild_gives_the_same_clusters(app: Flask) -> None:
    with app.app_context():
        session = app.extensions["libext"].db.session
        setup_libraries(session)
        for n, code in enumerate(("HNM", "PLY", "KBG")):
            save(
                app,
                code,
                f"x{n}",
                book("Dế Mèn phiêu lưu ký", author="Tô Hoài", isbn="9786042000000"),
            )
        save(app, "HNM", "y", book("Vợ nhặt", author="Kim Lân"))
        before = run_search(session, "de men").total
        assert SearchIndexer(session).rebuild() == 2
        session.commit()
        assert run_search(session, "de men").total == before == 1


def _members(session: Session) -> dict[int, tuple[int, dict[str, object]]]:
    rows = session.execute(
        select(SearchMember.record_id, SearchMember.cluster_id, SearchMember.facts)
    )
    return {rid: (cid, json.loads(facts)) for rid, cid, facts in rows}


def test_prepared_records_are_indexed_without_parsing_and_as_parsed_ones(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's preparer works out a record's facts where it is read; indexing then reads
    nothing back, and gives what re-reading the stored record gives (a rebuild)."""
    import libext.search.indexer as indexer

    def no_parse(marc: bytes) -> None:
        raise AssertionError("a prepared record was read back and parsed")

    with app.app_context():
        session = app.extensions["libext"].db.session
        setup_libraries(session)
        with monkeypatch.context() as patched:
            patched.setattr(indexer, "_parse", no_parse)
            for n, code in enumerate(("HNM", "PLY", "KBG")):
                # NFD spelling: the prepared facts must be those of the stored NFC record
                title = unicodedata.normalize("NFD", "Dế Mèn phiêu lưu ký")
                save(app, code, f"x{n}", book(title, author="Tô Hoài", isbn="9786042000000"),
                     call=f"8V{n}")  # fmt: skip
            save(app, "HNM", "y", book("Vợ nhặt", author="Kim Lân"))
        prepared = _members(session)
        assert len(prepared) == 4 and len({cid for cid, _ in prepared.values()}) == 2
        libraries = {tuple(payload["libraries"]) for _, payload in prepared.values()}
        assert libraries == {("HNM",), ("PLY",), ("KBG",)}
        SearchIndexer(session).rebuild()
        session.commit()
        parsed = _members(session)
        assert [p for _, p in parsed.values()] == [p for _, p in prepared.values()]
        assert run_search(session, "de men").total == 1


def test_cataloguer_splits_a_wrong_cluster(
    app: Flask, principal_headers: Callable[..., dict[str, str]]
) -> None:
    with app.app_context():
        session = app.extensions["libext"].db.session
        setup_libraries(session)
        a = save(app, "HNM", "h1", book("Thơ", author="Xuân Diệu"))
        b = save(app, "PLY", "p1", book("Thơ", author="Xuân Diệu"))
        assert cluster_of(session, a) == cluster_of(session, b)
    client = app.test_client()
    assert client.post(f"/record/{b}/split").status_code == 401
    other = principal_headers("hnm", roles=["cataloguer"], libraries=["HNM"])
    page = client.get(f"/record/{b}", headers=other)
    assert "Tách biểu ghi" not in page.data.decode()  # not this cataloguer's record
    assert client.post(f"/record/{b}/split", headers=other).status_code in (400, 403)
    mine = principal_headers("ply", roles=["cataloguer"], libraries=["PLY"])
    page = client.get(f"/record/{b}", headers=mine).data.decode()
    assert "Tách biểu ghi" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    data = {"csrf_token": token.group(1)} if token else {}
    response = client.post(f"/record/{b}/split", headers=mine, data=data)
    assert response.status_code == 303
    with app.app_context():
        session = app.extensions["libext"].db.session
        assert cluster_of(session, a) != cluster_of(session, b)
        # Saving the record again keeps it apart, and so does saving its former partner.
        save(app, "PLY", "p1", book("Thơ", author="Xuân Diệu"))
        save(app, "HNM", "h1", book("Thơ", author="Xuân Diệu"))
        assert cluster_of(session, a) != cluster_of(session, b)
        assert run_search(session, "tho xuan dieu").total == 2
        # A rebuild re-clusters everything and still keeps the cataloguer's correction; a
        # third copy joins the record it matches, not the one split off.
        c = save(app, "KBG", "k1", book("Thơ", author="Xuân Diệu"))
        SearchIndexer(session).rebuild()
        session.commit()
        assert cluster_of(session, a) == cluster_of(session, c) != cluster_of(session, b)
        assert session.get(SearchMember, b).manual
        assert run_search(session, "tho xuan dieu").total == 2
        SearchIndexer(session).rebuild()  # and again: nothing moves
        session.commit()
        assert cluster_of(session, a) == cluster_of(session, c) != cluster_of(session, b)


def test_api_search_and_record(app: Flask) -> None:
    with app.app_context():
        session = app.extensions["libext"].db.session
        setup_libraries(session)
        a = save(app, "HNM", "h1", book("Truyện Kiều", isbn="9786046912347"), "895.9221")
        save(app, "PLY", "p1", book("Truyện Kiều", isbn="9786046912347"), "895.92")
        withdrawn = save(app, "KBG", "k1", book("Nhật ký trong tù", author="Hồ Chí Minh"))
        store = app.extensions["libext"].store()
        store.delete(session.get(Record, withdrawn))
        store.flush()
        session.commit()
    client = app.test_client()
    body = client.get("/api/search?q=truyen+kieu").get_json()
    assert body["total"] == 1 and body["page"] == 1 and body["size"] == 20
    assert body["total_exact"] is True and body["facets_exact"] is True
    (result,) = body["results"]
    assert set(result) >= {"id", "title", "authors", "year", "isbns", "libraries"}
    assert result["isbns"] == ["9786046912347"]
    assert {lib["code"] for lib in result["libraries"]} == {"HNM", "PLY"}
    assert {lib["call_number"] for lib in result["libraries"]} == {"895.9221", "895.92"}
    assert set(body["facets"]) >= {"library", "type", "language", "decade"}
    filtered = client.get("/api/search?q=kieu&library=PLY&lang=vie&decade=2010&type=am").get_json()
    assert filtered["total"] == 1
    assert client.get("/api/search?q=kieu&library=NONE").get_json()["total"] == 0
    for bad in ("page=0", "page=x", "size=1000", "sort=random"):
        response = client.get(f"/api/search?q=kieu&{bad}")
        assert response.status_code == 400 and response.get_json()["error"]["code"] == 400
    odd = client.get('/api/search?q="kieu').get_json()
    assert odd["notices"][0]["code"] == "unbalanced_quote"
    record = client.get(f"/api/records/{a}").get_json()
    assert record["title"] == "Truyện Kiều" and record["cluster"]["key"] == "isbn:9786046912347"
    assert record["marc"]["fields"]
    assert client.get("/api/records/999999").status_code == 404
    assert client.get(f"/api/records/{withdrawn}").status_code == 410


def test_documents_prepared_with_records_equal_those_built_from_members(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record alone in its cluster is indexed with the document worked out where it was read;
    that document is the one the members stored in the database give. Checked on the demo
    network: single records and clusters held by several libraries, with holdings."""
    import libext.search.indexer as indexer
    from libext.demo import load_demo

    written: dict[int, SearchDoc] = {}
    built: list[int] = []
    stored: list[int] = []
    store_docs = indexer.SearchIndexer.store_docs
    build_doc = indexer.build_doc

    def capture(
        self: SearchIndexer, docs: list[SearchDoc], keys: dict[int, str], *args: object
    ) -> None:
        store_docs(self, docs, keys, *args)  # documents compared with their facet codes
        written.update((doc.cluster_id, copy.deepcopy(doc)) for doc in docs)
        stored.extend(doc.cluster_id for doc in docs)

    def counted(cluster_id: int, members: list[MemberData]) -> SearchDoc:
        built.append(cluster_id)
        return build_doc(cluster_id, members)

    index = SearchEngine.index
    orders: list[list[int]] = []

    def ordered(self: SearchEngine, session: Session, docs: list[SearchDoc], **kw: bool) -> None:
        orders.append([doc.cluster_id for doc in docs])
        index(self, session, docs, **kw)

    monkeypatch.setattr(indexer.SearchIndexer, "store_docs", capture)
    monkeypatch.setattr(indexer, "build_doc", counted)
    monkeypatch.setattr(SearchEngine, "index", ordered)
    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        load_demo(state)
        session.commit()
        loaded = dict(written)
        ids = sorted(session.scalars(select(SearchCluster.id)))
        assert sorted(loaded) == ids
        # A record alone in its cluster (the first of each edition the demo loads, and
        # every single copy) is indexed with its prepared document; the others are built.
        assert len(stored) - len(built) >= len(ids)
        only_prepared = set(ids) - set(built)  # their final document is a prepared one
        assert 0 < len(only_prepared) < len(ids)
        built.clear()
        written.clear()
        SearchIndexer(session).refresh(ids)  # every document rebuilt from the stored members
        assert len(written) == len(ids) == len(built)
        for cluster_id in ids:
            assert written[cluster_id] == loaded[cluster_id], cluster_id
        # Full-text rows go in in id order (FTS5 writes a segment per row out of order).
        assert orders and all(ids == sorted(ids) for ids in orders)
        libraries = {code for doc in loaded.values() for _, code in doc.facets if _ == "library"}
        assert len(libraries) >= 3 and max(d.library_count for d in loaded.values()) >= 2


def test_nul_characters_are_removed_from_saved_records(app: Flask) -> None:
    """A NUL (U+0000) is no text (PostgreSQL and XML refuse it): the store removes it from
    every record it saves, and such records still cluster and are found again."""
    with app.app_context():
        session = app.extensions["libext"].db.session
        setup_libraries(session)
        # two flushes: the second must find the stored author facet value, not insert it again
        a = save(app, "HNM", "h\x001", book("Truyện Kiều", author="Nguyễn\x00Du"))
        b = save(app, "PLY", "p1", book("Truyện Kiều", author="Nguyễn\x00Du"))
        assert cluster_of(session, a) == cluster_of(session, b)
        record = session.get(Record, a)
        assert record.local_id == "h1" and b"\x00" not in record.marc
        store = app.extensions["libext"].store()
        library = session.scalar(select(Library).where(Library.code == "HNM"))
        store.prefetch(library, ["h1"])
        assert store.find(library, "h1") is record


@pytest.mark.parametrize("codes", [["HNM"], ["HNM", "PLY", "HNM"], ["", "PLY"], []])
def test_a_prepared_document_is_the_one_build_doc_makes(codes: list[str]) -> None:
    import json as json_module

    from libext.search.documents import build_doc
    from libext.search.indexer import _Prepared, member_prep
    from marc.extract import Extracted
    from marc.writer import record_to_iso2709

    record = book("Số đỏ", author="Vũ Trọng Phụng", isbn="9786042000000")
    marc = record_to_iso2709(record)
    prep = member_prep(record, marc)
    held = list(dict.fromkeys(codes))
    payload = json_module.loads(prep.payload(held))
    member = MemberData(7, payload["libraries"], Extracted(**payload["data"]),
                        payload["completeness"])  # fmt: skip
    prepared = _Prepared(7, prep.facts, prep.payload(held), prep, held)
    assert prepared.alone_doc(3) == build_doc(3, [member])
