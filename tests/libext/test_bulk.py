"""Bulk SQL helpers, on SQLite and PostgreSQL: ids of inserted rows, updates, IN lists."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from libext.bulk import (
    any_of,
    insert_rows,
    inserted_ids,
    reserve_ids,
    update_rows,
)
from libext.models import Library


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context():
        yield app.extensions["libext"].db.session


def _library_rows(names: list[str]) -> list[dict[str, object]]:
    return [{"code": name, "name": f"Thư viện {name}", "isil": None} for name in names]


def _ids_by_code(session: Session, names: list[str]) -> list[int]:
    by_code = dict(session.execute(select(Library.code, Library.id)).all())
    return [by_code[name] for name in names]


@pytest.mark.parametrize("interloper", [False, True])
def test_inserted_ids_are_the_rows_ids_in_order(
    session: Session, monkeypatch: pytest.MonkeyPatch, interloper: bool
) -> None:
    """The ids of bulk-inserted rows: worked out from the largest id on SQLite, read back
    by a unique key otherwise, or when another row went in meanwhile."""
    import libext.bulk as bulk

    table = Library.__table__
    if interloper:  # a row inserted between the largest id read and ours
        insert_rows = bulk.insert_rows

        def slipped_in(session: Session, table: Table, rows: list[dict[str, object]]) -> None:
            insert_rows(session, table, _library_rows(["XEN"]))
            insert_rows(session, table, rows)

        monkeypatch.setattr(bulk, "insert_rows", slipped_in)
    names = [f"L{n:03d}" for n in range(30)]
    read_back_calls = []

    def read_back() -> list[int]:
        read_back_calls.append(1)
        return _ids_by_code(session, names)

    ids = inserted_ids(session, table, _library_rows(names), read_back)
    assert ids == _ids_by_code(session, names)
    fast = session.get_bind().dialect.name == "sqlite" and not interloper
    assert read_back_calls == ([] if fast else [1])


def test_reserved_ids_take_complete_rows_and_nobody_else_gets_them(session: Session) -> None:
    """Ids reserved for rows written whole: new, increasing, not given to a row inserted
    afterwards, and, while the transaction lasts, not to another connection either (on
    PostgreSQL it takes others from the sequence; on SQLite it cannot write at all)."""
    table = Library.__table__
    insert_rows(session, table, _library_rows(["OLD"]))
    session.commit()
    (old,) = _ids_by_code(session, ["OLD"])
    ids = reserve_ids(session, table, 4)
    assert ids == sorted(set(ids)) and len(ids) == 4 and min(ids) > old
    assert reserve_ids(session, table, 0) == []
    other = sa.create_engine(session.get_bind().url, poolclass=sa.NullPool)
    try:
        with other.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA busy_timeout = 0")
                with pytest.raises(sa.exc.OperationalError, match="locked"):
                    connection.execute(sa.insert(table), _library_rows(["XEN"]))
            else:
                theirs = reserve_ids(Session(bind=connection), table, 3)
                assert not set(theirs) & set(ids)
                connection.commit()
    finally:
        other.dispose()
    names = ["R1", "R2", "R3", "R4"]
    rows = [{"id": i, **row} for i, row in zip(ids, _library_rows(names), strict=True)]
    insert_rows(session, table, rows)
    insert_rows(session, table, _library_rows(["NEW"]))
    session.commit()
    assert _ids_by_code(session, names) == ids
    assert _ids_by_code(session, ["NEW"])[0] > max(ids)


def test_time_stamps_shared_by_rows_are_written_as_each_rows_own(session: Session) -> None:
    """A date-time converted once per distinct value (SQLite formats it in Python) still
    gives each row its own value, None included."""
    from datetime import datetime, timedelta

    from libext.models import ImportBatch

    insert_rows(session, Library.__table__, _library_rows(["TS1"]))
    (library_id,) = _ids_by_code(session, ["TS1"])
    first = datetime(2026, 11, 27, 3, 4, 5, 123456)
    stamps = [first, first, first + timedelta(seconds=1), first, None, first + timedelta(days=1)]
    table = ImportBatch.__table__
    # Every column given: the driver's executemany runs, with the converters under test.
    given = {
        c.name: None if c.default is None or callable(c.default.arg) else c.default.arg
        for c in table.c
        if c.name != "id"
    }
    rows = [
        {**given, "library_id": library_id, "filename": f"f{n}", "created": first,
         "finished": stamp}
        for n, stamp in enumerate(stamps)
    ]  # fmt: skip
    calls = []
    execute = session.execute
    session.execute = lambda *a, **k: calls.append(a) or execute(*a, **k)  # type: ignore[method-assign]
    try:
        insert_rows(session, table, rows)
    finally:
        del session.execute
    assert not calls, "SQLAlchemy's own path ran instead of the driver's executemany"
    stored = session.execute(
        select(ImportBatch.filename, ImportBatch.created, ImportBatch.finished)
        .where(ImportBatch.library_id == library_id)
        .order_by(ImportBatch.filename)
    ).all()
    assert [(f, c, s) for f, c, s in stored] == [
        (f"f{n}", first, stamp) for n, stamp in enumerate(stamps)
    ]


def test_update_rows_sets_each_rows_values_by_its_key(session: Session) -> None:
    table = Library.__table__
    names = ["A01", "A02", "A03"]
    insert_rows(session, table, _library_rows(names))
    ids = _ids_by_code(session, names)
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


@pytest.mark.parametrize(
    "values",
    [
        ["A01"],
        ["A01", "Đ'\"x", "nope", "A03"],
        [],
        [f"Z{n:04d}" for n in range(3000)] + ["A02"],  # past SQLite's bound-parameter limit
        # values with a NUL (SQLite's JSON cuts them there) beside more than SQLite's
        # default parameter limit of others
        ["A\x0004", "nope\x00"] + [f"Z{n:05d}" for n in range(40_000)] + ["A01"],
    ],
)
def test_any_of_is_in(session: Session, values: list[str]) -> None:
    names = ["A01", "A02", "A03", "Đ'\"x", "A\x0004"]
    if session.get_bind().dialect.name == "postgresql":  # its text cannot hold a NUL at all
        names, values = ([v for v in vs if "\x00" not in v] for vs in (names, values))
    else:  # SQLite's parameter limit of builds before 3.32, so that no build hides an overrun
        raw = session.connection().connection.driver_connection
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # type: ignore[union-attr]
    insert_rows(session, Library.__table__, _library_rows(names))
    found = session.scalars(select(Library.code).where(any_of(session, Library.code, values)))
    assert sorted(found) == sorted(set(names) & set(values))
    ids = _ids_by_code(session, names)
    picked = session.scalars(select(Library.id).where(any_of(session, Library.id, ids[1:3])))
    assert sorted(picked) == ids[1:3]


def test_any_of_matches_whole_values_only(session: Session) -> None:
    """A value longer than the column is not cut to fit (PostgreSQL casts to the array type),
    and a NUL does not end the value (SQLite's JSON functions stop there; PostgreSQL cannot
    store one at all)."""
    longest = "X" * 32  # Library.code is VARCHAR(32)
    insert_rows(session, Library.__table__, _library_rows([longest, "N"]))
    found = session.scalars(select(Library.code).where(any_of(session, Library.code, ["X" * 40])))
    assert list(found) == []
    if session.get_bind().dialect.name == "sqlite":
        insert_rows(session, Library.__table__, _library_rows(["N\x00UL"]))
        query = select(Library.code).where(any_of(session, Library.code, ["N\x00UL"]))
        assert list(session.scalars(query)) == ["N\x00UL"]


def test_any_of_is_one_parameter_that_seeks_the_index(session: Session) -> None:
    query = select(Library.id).where(any_of(session, Library.code, ["A01", "A02", "A03"]))
    compiled = query.compile(session.get_bind())
    assert len(compiled.params) == 1
    if session.get_bind().dialect.name == "postgresql":
        assert "= ANY (" in str(compiled)  # the array form, which PostgreSQL plans as IN
        return
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    sql = "EXPLAIN QUERY PLAN " + str(compiled)
    plan = session.connection().exec_driver_sql(sql, params).all()
    assert any("USING" in row[-1] and "INDEX" in row[-1] for row in plan), plan
