"""Alembic environment for libext: online only, on the engine the caller passes."""

from __future__ import annotations

from alembic import context

import libext.models  # noqa: F401  (registers every model on the metadata)
from libext.migrate import VERSION_TABLE
from libext.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    """Only libext's own tables; never a host's, never SQLite FTS5 shadow tables."""
    if type_ == "table":
        return bool(name) and name.startswith("libext_") and "_fts" not in name
    return True


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        enforced = False
        if sqlite:
            # SQLite changes most of a table only by rebuilding it, and dropping the old
            # table with foreign keys on deletes every row that refers to it (ON DELETE
            # CASCADE). Off for the migrations, outside any transaction as SQLite requires,
            # then back as they were.
            # On the driver's connection: through SQLAlchemy, a host's engine that emits
            # BEGIN itself would open a transaction first, and the pragma would do nothing
            # (a migration that needs it refuses to run then).
            raw = connection.connection.driver_connection
            enforced = bool(raw.execute("PRAGMA foreign_keys").fetchone()[0])
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    version_table=VERSION_TABLE,
                    include_object=include_object,
                    render_as_batch=sqlite,
                )
                with context.begin_transaction():
                    context.run_migrations()
        finally:
            if enforced:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
