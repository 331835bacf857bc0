"""Migrations: upgrading an empty database gives exactly the models' schema, on both engines."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import libext.models  # noqa: F401
from libext.migrate import VERSION_TABLE, current_heads, script_heads, upgrade
from libext.models import Base


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
