"""The record path: NFC, lossless bytes, extraction, holdings, datestamps, deletions, hooks."""

from __future__ import annotations

import sqlite3
import unicodedata

import pymarc
import pytest
from flask import Flask
from sqlalchemy import func, select

from libext.models import Library, MatchKey, Record
from libext.models.search import SearchIsbn, SearchMember
from libext.store import RecordStore, created_records
from marc.isbn import normalize_isbn


def make_record(control: str = "vn001", title: str = "Truyện Kiều", **extra: str) -> pymarc.Record:
    record = pymarc.Record(force_utf8=True, leader="00000nam a2200000 a 4500")
    record.add_field(pymarc.Field(tag="001", data=control))
    record.add_field(pymarc.Field(tag="003", data="VN-HNM"))
    record.add_field(pymarc.Field(tag="008", data="150101s2015    vm            000 1 vie d"))
    record.add_field(
        pymarc.Field(
            tag="020",
            indicators=[" ", " "],
            subfields=[pymarc.Subfield("a", extra.get("isbn", "978-604-2-08355-3"))],
        )
    )
    record.add_field(
        pymarc.Field(
            tag="100", indicators=["0", " "], subfields=[pymarc.Subfield("a", "Nguyễn Du")]
        )
    )
    record.add_field(
        pymarc.Field(
            tag="245",
            indicators=["1", "0"],
            subfields=[pymarc.Subfield("a", title + " /"), pymarc.Subfield("c", "Nguyễn Du")],
        )
    )
    record.add_field(
        pymarc.Field(
            tag="852",
            indicators=[" ", " "],
            subfields=[
                pymarc.Subfield("a", "VN-HNM"),
                pymarc.Subfield("b", "Kho mượn"),
                pymarc.Subfield("h", "895.9221"),
                pymarc.Subfield("i", "NG-D"),
                pymarc.Subfield("p", "HNM0001"),
            ],
        )
    )
    return record


@pytest.fixture
def store(app: Flask):  # type: ignore[no-untyped-def]
    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        session.add(Library(code="HNM", name="Thư viện tỉnh Hà Nam", isil="VN-HNM"))
        session.commit()
        yield state.store()


def test_create_extracts_fields_and_holdings(store: RecordStore) -> None:
    library = store.library("HNM")
    result = store.save(library, make_record())
    store.flush()
    store.session.commit()
    rec = result.record
    assert result.action == "created"
    assert rec.local_id == "vn001"
    assert rec.title == "Truyện Kiều"
    assert rec.author_list == ["Nguyễn Du"]
    assert rec.isbn_list == ["9786042083553"]
    assert rec.year == 2015
    assert rec.language == "vie"
    assert rec.material_type == "am"
    assert [(h.call_number, h.barcode, h.location) for h in rec.holdings] == [
        ("895.9221 NG-D", "HNM0001", "Kho mượn")
    ]


def test_same_record_again_changes_nothing(store: RecordStore) -> None:
    library = store.library("HNM")
    first = store.save(library, make_record()).record
    store.flush()
    store.session.commit()
    stamp = first.datestamp
    again = store.save(library, make_record())
    assert again.action == "unchanged"
    assert again.record.datestamp == stamp


def test_changed_record_moves_datestamp(store: RecordStore) -> None:
    library = store.library("HNM")
    first = store.save(library, make_record()).record
    store.flush()
    store.session.commit()
    stamp = first.datestamp
    changed = store.save(library, make_record(title="Truyện Kiều (bản mới)"))
    store.flush()
    assert changed.action == "updated"
    assert changed.record.id == first.id
    assert changed.record.datestamp > stamp
    assert changed.record.title == "Truyện Kiều (bản mới)"


def test_nfd_input_is_stored_nfc(store: RecordStore) -> None:
    library = store.library("HNM")
    nfd = unicodedata.normalize("NFD", "Truyện Kiều")
    rec = store.save(library, make_record(title=nfd)).record
    store.flush()
    assert rec.title == unicodedata.normalize("NFC", "Truyện Kiều")
    stored = pymarc.Record(data=rec.marc, to_unicode=True, force_utf8=True)
    assert unicodedata.is_normalized("NFC", stored["245"]["a"])
    assert stored.leader[9] == "a"


def test_given_bytes_are_kept_losslessly(store: RecordStore) -> None:
    library = store.library("HNM")
    record = make_record()
    raw = record.as_marc()
    rec = store.save(
        library, pymarc.Record(data=raw, to_unicode=True, force_utf8=True), marc_bytes=raw
    ).record
    store.flush()
    assert rec.marc == raw


def test_delete_keeps_the_row_and_moves_datestamp(store: RecordStore) -> None:
    library = store.library("HNM")
    rec = store.save(library, make_record()).record
    store.flush()
    stamp = rec.datestamp
    assert store.delete(rec) is True
    assert store.delete(rec) is False
    store.flush()
    store.session.commit()
    again = store.session.get(Record, rec.id)
    assert again is not None and again.deleted and again.datestamp >= stamp


def _record_hook_calls(store: RecordStore) -> list[tuple[list[int], list[int]]]:
    """Replace the store's hooks with one that records (changed, deleted) of each flush."""
    calls: list[tuple[list[int], list[int]]] = []
    store.after_write = [
        lambda session, changed, deleted: calls.append((list(changed), list(deleted)))
    ]
    return calls


def test_after_write_hooks_see_changed_and_deleted_ids(store: RecordStore) -> None:
    calls = _record_hook_calls(store)
    library = store.library("HNM")
    a = store.save(library, make_record("a1")).record
    b = store.save(library, make_record("b1")).record
    store.flush()
    store.delete(a)
    store.flush()
    assert calls == [(sorted([a.id, b.id]), []), ([], [a.id])]


def test_hooks_are_told_which_records_the_flush_inserted(store: RecordStore) -> None:
    seen: list[dict[int, int]] = []
    store.after_write = [lambda session, changed, deleted: seen.append(created_records(session))]
    library = store.library("HNM")
    a = store.save(library, make_record("a1")).record
    store.flush()
    store.save(library, make_record("a1", title="Kim Vân Kiều"))  # an update
    b = store.save(library, make_record("b1")).record
    store.flush()
    assert seen == [{a.id: library.id}, {b.id: library.id}]
    assert created_records(store.session) == {}  # only while the hooks run


def test_match_keys_of_new_and_updated_records(store: RecordStore) -> None:
    """New records get their keys without a look-up; updated ones get theirs replaced."""
    library = store.library("HNM")
    rec = store.save(library, make_record("a1", isbn="978-604-1-23456-7")).record
    store.flush()

    def keys() -> list[tuple[str, str]]:
        rows = store.session.execute(
            select(MatchKey.kind, MatchKey.value).where(MatchKey.record_id == rec.id)
        )
        return sorted(tuple(row) for row in rows)

    assert ("isbn", normalize_isbn("978-604-1-23456-7")) in keys()
    store.save(library, make_record("a1", isbn="978-604-2-08355-3"))
    store.flush()
    assert ("isbn", normalize_isbn("978-604-2-08355-3")) in keys()
    assert ("isbn", normalize_isbn("978-604-1-23456-7")) not in keys()


def test_a_deleted_last_records_id_is_not_handed_out_again(store: RecordStore) -> None:
    """A record deleted without foreign keys (a host's own connection, the sqlite3 shell)
    leaves its match keys and search rows; the next record gets a new id, so none of them
    becomes its own (SQLite's AUTOINCREMENT, PostgreSQL's sequence)."""
    session = store.session
    old = store.save(store.library("HNM"), make_record("a1", isbn="978-604-1-23456-7")).record
    store.flush()
    session.commit()
    old_id = old.id
    if session.get_bind().dialect.name == "sqlite":
        with sqlite3.connect(session.get_bind().url.database) as raw:  # foreign keys off
            raw.execute("DELETE FROM libext_record WHERE id = ?", (old_id,))
        session.expunge_all()  # the deleted record was loaded here: forget it, as a new session
        assert session.scalar(select(func.count()).where(MatchKey.record_id == old_id))
    else:
        session.delete(old)
        session.commit()
    new = store.save(store.library("HNM"), make_record("b1", isbn="978-604-2-08355-3")).record
    store.flush()
    session.commit()
    assert new.id > old_id
    keys = session.execute(select(MatchKey.value).where(MatchKey.record_id == new.id))
    assert sorted(v for (v,) in keys) == [normalize_isbn("978-604-2-08355-3")]
    member = session.get(SearchMember, new.id)
    assert member is not None and "Truyện Kiều" in member.facts
    isbns = session.scalars(select(SearchIsbn.isbn).where(SearchIsbn.record_id == new.id))
    assert sorted(isbns) == [normalize_isbn("978-604-2-08355-3")]


def test_a_record_created_and_deleted_in_one_flush_keeps_its_keys(store: RecordStore) -> None:
    """As any deleted record: a re-import must find it by its keys to revive it."""
    record = store.save(store.library("HNM"), make_record("a1")).record
    assert store.delete(record)
    store.flush()
    rows = store.session.execute(select(MatchKey.kind).where(MatchKey.record_id == record.id))
    assert [kind for (kind,) in rows] == ["isbn"]


def test_record_deleted_then_saved_again_before_the_flush_is_live(store: RecordStore) -> None:
    calls = _record_hook_calls(store)
    library = store.library("HNM")
    record = store.save(library, make_record("a1")).record
    store.flush()
    store.delete(record)
    assert store.save(library, make_record("a1", title="Kim Vân Kiều")).action == "updated"
    store.flush()
    assert calls[-1] == ([record.id], []) and record.deleted is False


def test_koha_952_items_become_holdings(store: RecordStore) -> None:
    record = make_record()
    record.remove_fields("852")
    record.add_field(
        pymarc.Field(
            tag="952",
            indicators=[" ", " "],
            subfields=[
                pymarc.Subfield("a", "HNM"),
                pymarc.Subfield("o", "895.92 NG-D"),
                pymarc.Subfield("p", "3900001"),
                pymarc.Subfield("1", "1"),
            ],
        )
    )
    rec = store.save(store.library("HNM"), record).record
    store.flush()
    assert [(h.call_number, h.barcode, h.status) for h in rec.holdings] == [
        ("895.92 NG-D", "3900001", "lost")
    ]
