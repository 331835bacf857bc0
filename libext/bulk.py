"""Bulk SQL for the write paths: many rows per statement, few Python steps per row.

A bulk load writes thousands of rows a second through one connection; SQLAlchemy's general
machinery (per-row parameter processing, one bound parameter per IN-list value, INSERT …
RETURNING one row at a time on SQLite) cost more there than the database's own work. These
helpers keep to Core tables and the driver's ``executemany``, and work the same on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    String,
    Table,
    Text,
    Time,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

__all__ = [
    "any_of",
    "insert_rows",
    "inserted_ids",
    "reserve_ids",
    "update_rows",
]


def any_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)`` with all the values in one parameter.

    SQLAlchemy sends an IN list as one bound parameter per value, each named and processed
    at every execution (a lookup of 500 ids cost more in Python than in the database). One
    parameter costs the same whatever the list's length: an array with ``= ANY`` on
    PostgreSQL, a JSON array read by ``json_each`` on SQLite (both seek the column's index,
    as IN does). Values must be of the column's kind: ints for an integer column, strings
    for a text one (SQLite's JSON integers never equal text).
    """
    values = list(values)
    name = session.get_bind().dialect.name
    if name == "postgresql":
        # An array of unbounded text: an array of the column's VARCHAR(n) would cut longer
        # values to n characters, and a value that cannot be stored would then match one.
        item = Text() if isinstance(column.type, String) else column.type
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(item)))
    if name != "sqlite":
        return column.in_(values)
    # SQLite's JSON functions end a string at an escaped NUL (U+0000): the values with one
    # (which MARC data may carry, with a warning) go as a plain IN list beside the others,
    # one parameter each, so that a long list stays within SQLite's parameter limit.
    odd = [v for v in values if isinstance(v, str) and "\x00" in v]
    if odd:
        values = [v for v in values if not (isinstance(v, str) and "\x00" in v)]
    listed = func.json_each(bindparam(None, json.dumps(values)))
    clause = column.in_(select(literal_column("value")).select_from(listed))
    return or_(clause, column.in_(odd)) if odd else clause


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, object]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) with the driver's own ``executemany``.

    ``session.execute(insert(table), rows)`` does the same, but processes every row's
    parameters in Python first, which for a bulk load cost more than the database's work.
    The statement is compiled once, the column types' bind processors (datetimes on SQLite)
    applied once per value, and the rows passed to the driver as they are. When the rows
    leave out a column that has a Python-side default, SQLAlchemy's own path fills it in.
    """
    if not rows:
        return
    keys = list(rows[0])
    if not _execute_many(session, insert(table), {k: table.c[k] for k in keys}, rows):
        session.execute(insert(table), rows)


def update_rows(
    session: Session, table: Table, rows: Sequence[dict[str, object]], key: str = "id"
) -> None:
    """UPDATE the rows of ``table`` whose ``key`` column has each row's ``key`` value, setting
    the row's other values: one driver ``executemany``, as :func:`insert_rows`."""
    if not rows:
        return
    names = [k for k in rows[0] if k != key]
    statement = (
        table.update()
        .where(table.c[key] == bindparam("_key"))
        .values({name: bindparam(name) for name in names})
    )
    columns = {name: table.c[name] for name in names}
    columns["_key"] = table.c[key]
    renamed = [{**row, "_key": row[key]} for row in rows]
    if not _execute_many(session, statement, columns, renamed):  # pragma: no cover
        session.execute(statement, renamed)


def inserted_ids(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, object]],
    read_back: Callable[[], Sequence[int]],
) -> list[int]:
    """INSERT ``rows`` (as :func:`insert_rows`) and return the ids they got, in row order.

    On SQLite the table's largest id is read before and after: SQLite gives a new row the
    largest id + 1 (with AUTOINCREMENT, the largest ever used + 1), so when the two differ by
    exactly the number of rows, the ids in between are these rows', in order (a row another
    connection slipped in, or ids given up by deleted rows, would widen the gap). In any
    other case ``read_back`` reads them back (by a unique key the rows carry).
    """
    if not rows:
        return []
    connection = session.connection()
    largest = select(func.max(table.c.id))
    before = None
    if connection.dialect.name == "sqlite":
        before = connection.execute(largest).scalar() or 0
    insert_rows(session, table, rows)
    if before is not None:
        after = connection.execute(largest).scalar() or 0
        if after - before == len(rows):
            return list(range(before + 1, after + 1))
    ids = list(read_back())
    if len(ids) != len(rows):  # pragma: no cover - the key is unique
        raise RuntimeError(f"{table.name}: {len(rows)} rows inserted, {len(ids)} read back")
    return ids


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """Ids, in increasing order, for ``count`` rows the caller will insert into ``table``
    (integer primary key ``id``) in this transaction, with complete rows and no read back.

    On PostgreSQL they come from the id column's sequence, as the column's default would,
    so concurrent writers never get the same ones. On SQLite they follow the largest id, read
    after a statement that takes the database's write lock: no other connection can write
    until this transaction ends, so nobody can insert them first. (Were that ever not so,
    the insert would fail on the primary key rather than mix rows up.)
    """
    if count <= 0:
        return []
    connection = session.connection()
    name = connection.dialect.name
    if name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.fullname, "id")
        series = func.generate_series(1, count).table_valued("n")
        ids = list(connection.execute(select(func.nextval(sequence)).select_from(series)).scalars())
        if None in ids:  # pragma: no cover - every libext table's id is a serial column
            raise RuntimeError(f"{table.fullname}.id has no sequence to reserve ids from")
        return sorted(ids)
    if name != "sqlite":  # pragma: no cover - libext runs on SQLite or PostgreSQL
        raise RuntimeError(f"libext runs on SQLite or PostgreSQL, not {name}")
    # An UPDATE that changes no row still starts a write transaction, which takes the lock.
    connection.execute(table.update().where(literal_column("0") == 1).values(id=table.c.id))
    largest = connection.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(largest + 1, largest + count + 1))


def _once_per_value(kind: Any, process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """``process`` run once per distinct value of a date or time column: the rows of a bulk
    write share their time stamp, and SQLite's processor formats it in Python every time."""
    if process is None or not isinstance(kind, Date | DateTime | Time):
        return process
    done: dict[Any, Any] = {}

    def once(value: Any) -> Any:
        try:
            return done[value]
        except KeyError:
            done[value] = result = process(value)
            return result

    return once


def _execute_many(
    session: Session, statement: Any, columns: dict[str, Any], rows: Sequence[dict[str, Any]]
) -> bool:
    """Run ``statement`` once per row with the driver's ``executemany``; ``columns`` maps each
    parameter name to its column (for the type's bind processor). False, and nothing run,
    when the compiled statement wants other parameters (defaults SQLAlchemy must compute)."""
    connection = session.connection()
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    order = (compiled.positiontup or []) if compiled.positional else list(compiled.binds)
    if set(order) != set(columns):
        return False
    processors = [
        _once_per_value(
            columns[k].type, columns[k].type.dialect_impl(dialect).bind_processor(dialect)
        )
        for k in order
    ]
    converted = [(i, p) for i, p in enumerate(processors) if p is not None]
    params: list[Any]
    if compiled.positional:
        getter = itemgetter(*order)  # one C call per row instead of a Python loop
        if len(order) == 1:
            params = [(getter(row),) for row in rows]
        else:
            params = [getter(row) for row in rows]
        if converted:
            for n, values in enumerate(params):
                fixed = list(values)
                for i, process in converted:
                    fixed[i] = process(fixed[i])
                params[n] = tuple(fixed)
    else:
        params = list(rows)
        if converted:
            named = [(order[i], p) for i, p in converted]
            for n, row in enumerate(rows):
                copy = dict(row)
                for name, process in named:
                    copy[name] = process(copy[name])
                params[n] = copy
    connection.exec_driver_sql(str(compiled), params)
    return True
