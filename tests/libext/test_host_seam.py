"""The host seam: a host ILS's own table read through libext as MARC records."""

from __future__ import annotations

from pathlib import Path

from libext.seam import ListQuery, RecordSource, StoreRecordSource
from tests.host_ils import Book, BookSource, add_sample_books, create_host_app, db


def test_host_books_are_read_as_marc_records(tmp_path: Path) -> None:
    app = create_host_app(f"sqlite:///{tmp_path / 'host.sqlite3'}")
    ids = add_sample_books(app)
    with app.app_context():
        source = app.extensions["libext"].record_source()
        assert isinstance(source, BookSource)
        assert isinstance(source, RecordSource)
        records = source.list(ListQuery(), limit=100)
        assert [r.key for r in records] == ids
        kieu = source.get(ids[0])
        assert kieu is not None and kieu.record is not None
        assert kieu.record["245"]["a"] == "Truyện Kiều"
        assert kieu.record["100"]["a"] == "Nguyễn Du"
        assert kieu.record["001"].data == f"book{ids[0]}"
        assert kieu.holdings[0].call_number == "895.9221 NG-D"
        assert source.count(ListQuery(set_spec="library:HOST")) == len(ids)
        assert source.count(ListQuery(set_spec="library:OTHER")) == 0


def test_host_keyset_paging_and_withdrawals(tmp_path: Path) -> None:
    app = create_host_app(f"sqlite:///{tmp_path / 'host.sqlite3'}")
    ids = add_sample_books(app)
    with app.app_context():
        source = app.extensions["libext"].record_source()
        first = source.list(ListQuery(), limit=2)
        rest = source.list(ListQuery(after=(first[-1].datestamp, first[-1].key)), limit=100)
        assert [r.key for r in first + rest] == ids
        book = db.session.get(Book, ids[1])
        book.withdrawn = True
        db.session.commit()
        assert source.get(ids[1]).deleted is True
        assert source.count(ListQuery(include_deleted=False)) == len(ids) - 1


def test_store_source_implements_the_protocol(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        source = app.extensions["libext"].record_source()
        assert isinstance(source, StoreRecordSource)
        assert isinstance(source, RecordSource)
        assert source.earliest_datestamp() is None
        assert source.list(ListQuery(), limit=10) == []
        assert source.parse_key("12") == 12
        assert source.parse_key("12a") is None
        assert source.parse_key("١٢") is None  # Arabic-Indic digits are not ids
