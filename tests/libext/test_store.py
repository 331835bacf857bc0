"""The record path: NFC, lossless bytes, extraction, holdings, datestamps, deletions, hooks."""

from __future__ import annotations

import unicodedata

import pymarc
import pytest
from flask import Flask
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from libext.models import Library, Record
from libext.store import RecordStore, insert_rows, inserted_ids, update_rows


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


def _library_rows(names: list[str]) -> list[dict[str, object]]:
    return [{"code": name, "name": f"Thư viện {name}", "isil": None} for name in names]


def _ids_by_code(store: RecordStore, names: list[str]) -> list[int]:
    session = store.session
    by_code = dict(session.execute(select(Library.code, Library.id)).all())
    return [by_code[name] for name in names]


@pytest.mark.parametrize("interloper", [False, True])
def test_inserted_ids_are_the_rows_ids_in_order(
    store: RecordStore, monkeypatch: pytest.MonkeyPatch, interloper: bool
) -> None:
    """The ids of bulk-inserted rows: worked out from the largest id on SQLite, read back
    by a unique key otherwise, or when another row went in meanwhile."""
    import libext.store as store_module

    session = store.session
    table = Library.__table__
    if interloper:  # a row inserted between the largest id read and ours
        insert_rows = store_module.insert_rows

        def slipped_in(session: Session, table: Table, rows: list[dict[str, object]]) -> None:
            insert_rows(session, table, _library_rows(["XEN"]))
            insert_rows(session, table, rows)

        monkeypatch.setattr(store_module, "insert_rows", slipped_in)
    names = [f"L{n:03d}" for n in range(30)]
    read_back_calls = []

    def read_back() -> list[int]:
        read_back_calls.append(1)
        return _ids_by_code(store, names)

    ids = inserted_ids(session, table, _library_rows(names), read_back)
    assert ids == _ids_by_code(store, names)
    fast = session.get_bind().dialect.name == "sqlite" and not interloper
    assert read_back_calls == ([] if fast else [1])


def test_update_rows_sets_each_rows_values_by_its_key(store: RecordStore) -> None:
    session = store.session
    table = Library.__table__
    names = ["A01", "A02", "A03"]
    insert_rows(session, table, _library_rows(names))
    ids = _ids_by_code(store, names)
    update_rows(
        session,
        table,
        [{"id": i, "name": f"Tên {n}", "isil": f"VN-{n}"} for n, i in enumerate(ids)],
    )
    update_rows(session, table, [{"code": "A03", "name": "Thư viện xã"}], key="code")
    rows = session.execute(
        select(Library.code, Library.name, Library.isil).where(Library.code.in_(names))
    ).all()
    assert sorted(rows) == [("A01", "Tên 0", "VN-0"), ("A02", "Tên 1", "VN-1"),
                            ("A03", "Thư viện xã", "VN-2")]  # fmt: skip
