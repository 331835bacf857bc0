"""Migrations: upgrading an empty database gives exactly the models' schema, on both engines."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import libext.models  # noqa: F401
from libext.db import configure_sqlite
from libext.migrate import VERSION_TABLE, alembic_config, current_heads, script_heads, upgrade
from libext.models import Base, Holding, ImportBatch, ImportOutcome, Library, Record


def _include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table":
        return bool(name) and name.startswith("libext_") and "_fts" not in name
    return True


def test_upgrade_from_empty_matches_models(empty_db_url: str) -> None:
    engine = sa.create_engine(empty_db_url, poolclass=sa.NullPool)
    applied = upgrade(engine)
    assert "0001" in applied or current_heads(engine) == script_heads(engine)
    assert current_heads(engine) == script_heads(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "include_object": _include}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"migrations and models differ: {diff}"


def test_upgrade_twice_changes_nothing(empty_db_url: str) -> None:
    engine = sa.create_engine(empty_db_url, poolclass=sa.NullPool)
    upgrade(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert upgrade(engine) == []
    assert set(sa.inspect(engine).get_table_names()) == tables
    assert VERSION_TABLE in tables
    engine.dispose()


def test_host_tables_are_left_alone(empty_db_url: str) -> None:
    engine = sa.create_engine(empty_db_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('hostrev')"))
    upgrade(engine)
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "hostrev"
        )
    engine.dispose()


def _before_0009(engine: sa.Engine) -> None:
    """Migrate ``engine``'s empty database to every revision but 0009."""
    cfg = alembic_config(engine)
    for head in script_heads(engine) - {"0009"}:
        command.upgrade(cfg, head)
    command.upgrade(cfg, "0007")  # 0009's parent, which no other head passes through
    assert "0007" in current_heads(engine) and "0009" not in current_heads(engine)


def _record_row(local_id: str) -> dict[str, object]:
    return {"library_id": 1, "local_id": local_id, "marc": b"", "leader": ""}


def test_record_ids_are_never_handed_out_twice_after_0009(tmp_path: Path) -> None:
    """Migration 0009 rebuilds libext_record with AUTOINCREMENT on an existing SQLite
    database: rows left by a deletion made without foreign keys are settled as their keys
    say, every other row stays (the rebuild runs with foreign keys off, or dropping the old
    table would take every holding with it), and a deleted last record's id is not given to
    the next record."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}", poolclass=sa.NullPool)
    _before_0009(engine)
    record = Record.__table__
    with engine.begin() as conn:
        conn.execute(Library.__table__.insert(), {"id": 1, "code": "HNM", "name": "x"})
        conn.execute(record.insert(), [{"id": i, **_record_row(f"r{i}")} for i in (1, 2, 3)])
        conn.execute(
            Holding.__table__.insert(),
            [{"record_id": i, "library_id": 1, "call_number": f"c{i}"} for i in (1, 2, 3)],
        )
        conn.execute(
            ImportBatch.__table__.insert(),
            {"id": 1, "library_id": 1, "filename": "f.mrc", "file_sha256": "", "status": "done"},
        )
        conn.execute(
            ImportOutcome.__table__.insert(),
            {"batch_id": 1, "ordinal": 3, "action": "created", "record_id": 3},
        )
        # Foreign keys are off on this plain engine, as on a host's own connection.
        conn.execute(record.delete().where(record.c.id == 3))
    # Run as libext runs it: on an engine that turns foreign keys on for every connection.
    configure_sqlite(engine)
    assert upgrade(engine) == ["0009"]
    with engine.begin() as conn:
        holdings = conn.execute(
            sa.select(Holding.record_id, Holding.call_number).order_by(Holding.id)
        ).all()
        assert holdings == [(1, "c1"), (2, "c2")]
        assert conn.execute(sa.select(ImportOutcome.record_id)).all() == [(None,)]
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        # r4 takes 3 (the largest id left + 1; nothing refers to 3 any more), and keeps it.
        conn.execute(record.insert(), _record_row("r4"))
        conn.execute(record.delete().where(record.c.local_id == "r4"))
        conn.execute(record.insert(), _record_row("r5"))
        ids = conn.execute(sa.select(record.c.local_id, record.c.id).order_by(record.c.id)).all()
    assert ids == [("r1", 1), ("r2", 2), ("r5", 4)]
    engine.dispose()


def test_0009_keeps_a_hosts_views_triggers_and_rows_whatever_its_engine(tmp_path: Path) -> None:
    """A host sharing the SQLite file: its view and trigger on libext_record are there after
    the rebuild, its rows that refer to records stay, and an engine that emits BEGIN itself
    (SQLAlchemy's recipe for SQLite transactions) still gets foreign keys off for it."""
    engine = sa.create_engine(
        f"sqlite:///{tmp_path / 'host.sqlite3'}",
        poolclass=sa.NullPool,
        connect_args={"isolation_level": None},
    )

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    configure_sqlite(engine)
    _before_0009(engine)
    with engine.begin() as conn:
        conn.execute(Library.__table__.insert(), {"id": 1, "code": "HNM", "name": "x"})
        conn.execute(Record.__table__.insert(), [_record_row("r1"), _record_row("r2")])
        conn.execute(Holding.__table__.insert(), {"record_id": 1, "library_id": 1})
        for statement in (
            "CREATE TABLE host_loan (id INTEGER PRIMARY KEY, "
            "record INTEGER REFERENCES libext_record (id) ON DELETE CASCADE)",
            "INSERT INTO host_loan (record) VALUES (1), (2)",
            "CREATE VIEW host_titles AS SELECT id, local_id FROM libext_record",
            "CREATE TABLE host_log (record INTEGER)",
            "CREATE TRIGGER host_new AFTER INSERT ON libext_record "
            "BEGIN INSERT INTO host_log VALUES (new.id); END",
        ):
            conn.exec_driver_sql(statement)
    assert upgrade(engine) == ["0009"]
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        assert run("SELECT count(*) FROM libext_holding").scalar() == 1
        assert run("SELECT record FROM host_loan ORDER BY id").all() == [(1,), (2,)]
        assert run("SELECT local_id FROM host_titles ORDER BY id").all() == [("r1",), ("r2",)]
        conn.execute(Record.__table__.insert(), _record_row("r3"))
        assert run("SELECT record FROM host_log").all() == [(3,)]
        assert (
            "AUTOINCREMENT"
            in run("SELECT sql FROM sqlite_master WHERE name = 'libext_record'").scalar()
        )
    engine.dispose()
