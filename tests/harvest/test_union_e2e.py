"""End to end: two district libraries and a provincial union, three real apps on loopback.

Each district is the standalone app (``wsgi.create_app``) on its own SQLite file, serving its
own records through libext's OAI-PMH provider from a real HTTP server. The union (on SQLite and
PostgreSQL) harvests both with ``flask libext harvest --all`` and is itself served: its search
API must show each book once per library, and its own OAI-PMH answer the deletion.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pymarc
import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from lxml import etree
from werkzeug.serving import make_server

from libext.migrate import upgrade
from libext.models import Library, Record
from tests.harvest.conftest import cli, records
from wsgi import create_app

OAI = "{http://www.openarchives.org/OAI/2.0/}"
SHARED = "Truyện Kiều"  # held by both districts: one record per library in the union


class Served:
    """A Flask app served by a werkzeug server in a thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def book(number: str, title: str, isbn: str) -> pymarc.Record:
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader("00000nam a2200000 a 4500")
    record.add_field(pymarc.Field(tag="001", data=number))
    record.add_field(
        pymarc.Field(
            tag="020",
            indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("a", isbn)],
        )
    )
    record.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("1", "0"),
            subfields=[pymarc.Subfield("a", title)],
        )
    )
    return record


def district(tmp_path: Path, code: str, titles: dict[str, str]) -> Served:
    """A district library's standalone app with ``titles`` ({001: title}), served."""
    url = f"sqlite:///{tmp_path / f'{code}.sqlite3'}"
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    upgrade(engine)
    engine.dispose()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": f"{code}-secret",
            "LIBEXT_OAI_PAGE_SIZE": 3,  # several pages, so resumption tokens are followed
            "LIBEXT_OAI_REPOSITORY_NAME": f"Thư viện {code}",
        }
    )
    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        library = Library(code=code, name=f"Thư viện {code}")
        session.add(library)
        session.commit()
        store = state.store()
        for index, (number, title) in enumerate(titles.items()):
            isbn = (
                "9786049999990"
                if title == SHARED
                else f"97860{abs(hash(code)) % 1000:03d}{index:05d}"
            )
            store.save(library, book(number, title, isbn))
        store.flush()
        session.commit()
    return Served(app)


def change_district(served: Served, *, delete: str | None = None, retitle=None) -> None:
    with served.app.app_context():
        state = served.app.extensions["libext"]
        session = state.db.session
        store = state.store()
        library = session.scalar(sa.select(Library))
        if delete:
            store.delete(store.find(library, delete))
        if retitle:
            number, title = retitle
            store.save(library, book(number, title, "9786040000777"))
        store.flush()
        session.commit()


@pytest.fixture
def districts(tmp_path: Path) -> Iterator[tuple[Served, Served]]:
    one = district(
        tmp_path,
        "DL1",
        {
            "a1": SHARED,
            "a2": "Số đỏ",
            "a3": "Dế Mèn phiêu lưu ký",
            "a4": "Tắt đèn",
            "a5": "Chí Phèo",
        },
    )
    two = district(
        tmp_path,
        "DL2",
        {"b1": SHARED, "b2": "Đất rừng phương Nam", "b3": "Vợ chồng A Phủ", "b4": "Lão Hạc"},
    )
    yield one, two
    one.close()
    two.close()


def union_titles(app: Flask, code: str) -> Counter[str]:
    """Live titles of library ``code`` in the union, counted."""
    return Counter(title for title, deleted in records(app, code).values() if not deleted)


def search(base: str, query: str) -> list[dict]:
    """Results of the union's search API whose title is exactly ``query``."""
    answer = requests.get(f"{base}/api/search", params={"q": query}, timeout=30)
    assert answer.status_code == 200, answer.text
    return [hit for hit in answer.json()["results"] if hit["title"].rstrip(" /:") == query]


def oai_identifiers(base: str, set_spec: str) -> dict[str, bool]:
    """{identifier: deleted} of the union's own OAI-PMH answer for one set, all pages."""
    found: dict[str, bool] = {}
    params = {"verb": "ListRecords", "metadataPrefix": "marc21", "set": set_spec}
    while True:
        root = etree.fromstring(requests.get(f"{base}/oai", params=params, timeout=30).content)
        for header in root.iter(f"{OAI}header"):
            found[header.findtext(f"{OAI}identifier")] = header.get("status") == "deleted"
        token = root.findtext(f".//{OAI}resumptionToken")
        if not token:
            return found
        params = {"verb": "ListRecords", "resumptionToken": token}


def test_union_harvests_two_districts_and_follows_a_deletion(app, districts):
    one, two = districts
    union = Served(app)
    try:
        for code, served in (("DL1", one), ("DL2", two)):
            code_, added = cli(app, "source", "add", code, "--url", f"{served.url}/oai")
            assert code_ == 0, added
            assert added["prefix"] == "marc21"
        status, report = cli(app, "harvest", "--all")
        assert status == 0, report
        assert [(r["source"], r["added"], r["pages"]) for r in report["sources"]] == [
            ("DL1", 5, 2),
            ("DL2", 4, 2),
        ]
        # Each book once per library; the book both districts hold is there once for each.
        assert union_titles(app, "DL1") == Counter(
            [SHARED, "Số đỏ", "Dế Mèn phiêu lưu ký", "Tắt đèn", "Chí Phèo"]
        )
        assert union_titles(app, "DL2") == Counter(
            [SHARED, "Đất rừng phương Nam", "Vợ chồng A Phủ", "Lão Hạc"]
        )
        with app.app_context():
            session = app.extensions["libext"].db.session
            kieu = session.scalars(sa.select(Record).where(Record.title == SHARED)).all()
            assert sorted(r.library.code for r in kieu) == ["DL1", "DL2"]
            assert {r.origin_base_url for r in kieu} == {f"{one.url}/oai", f"{two.url}/oai"}

        # The union's search (over HTTP) shows the shared book once, held by both districts.
        hits = search(union.url, SHARED)
        assert [sorted(lib["code"] for lib in hit["libraries"]) for hit in hits] == [["DL1", "DL2"]]
        assert len(search(union.url, "Tắt đèn")) == 1

        # A district withdraws a book and retitles another; the next nightly run follows.
        change_district(one, delete="a4")
        change_district(two, retitle=("b3", "Vợ chồng A Phủ (tái bản)"))
        status, report = cli(app, "harvest", "--all")
        assert status == 0
        assert [(r["source"], r["deleted"], r["updated"]) for r in report["sources"]] == [
            ("DL1", 1, 0),
            ("DL2", 0, 1),
        ]
        assert "Tắt đèn" not in union_titles(app, "DL1")
        assert union_titles(app, "DL2")["Vợ chồng A Phủ (tái bản)"] == 1
        assert sum(union_titles(app, "DL1").values()) == 4
        assert search(union.url, "Tắt đèn") == []

        # The union's own provider reports the deletion to whoever harvests the union.
        published = oai_identifiers(union.url, "library:DL1")
        assert len(published) == 5 and sum(published.values()) == 1
    finally:
        union.close()
