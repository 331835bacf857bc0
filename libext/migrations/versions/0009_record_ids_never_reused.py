"""foundation: a record id is never handed out twice (SQLite AUTOINCREMENT)

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-27

Without AUTOINCREMENT, SQLite gives a new row the largest id + 1, so the id of a deleted
last record comes back with the next record. A deletion made with foreign keys off (a
host's own connection, the ``sqlite3`` shell: SQLite enforces them only where each
connection asks) leaves the rows that referred to the old record, and they then belong to
the new one: another record's holdings shown under it, its import outcome, so that reverting
the old batch withdraws the new record. PostgreSQL's sequences never hand out an id twice:
nothing changes there.

First the rows already left so are settled as their foreign key says (deleted, or their
reference set to NULL), as the deletion would have done with foreign keys on. Then the
table is rebuilt with AUTOINCREMENT (SQLite cannot add it otherwise); the migration
environment turns foreign keys off for that, or dropping the old table would delete every
holding with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def _settle_orphans() -> None:
    """Delete (or null) libext rows that refer to a record no longer there."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        if not table.startswith("libext_") or table == "libext_record":
            continue
        for fk in inspector.get_foreign_keys(table):
            if fk["referred_table"] != "libext_record":
                continue
            (column,) = fk["constrained_columns"]
            orphan = (
                f"{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM libext_record WHERE libext_record.id = {table}.{column})"
            )
            if (fk.get("options") or {}).get("ondelete", "").upper() == "SET NULL":
                op.execute(f"UPDATE {table} SET {column} = NULL WHERE {orphan}")
            else:
                op.execute(f"DELETE FROM {table} WHERE {orphan}")


def _refuse_with_foreign_keys_on() -> None:
    # With foreign keys on, dropping the old table deletes every holding, match key and
    # search row (ON DELETE CASCADE). SQLite ignores turning them off inside a transaction:
    # on a connection that always has one open (a host's engine that emits BEGIN itself,
    # Python 3.12's autocommit=False) the environment could not, and nothing may be rebuilt.
    if op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "migration 0009 rebuilds libext_record and needs SQLite's foreign keys off, which "
            "this connection keeps on (it holds a transaction open); run it through "
            "`flask libext init-db` or an engine in SQLite's autocommit mode"
        )


def _views_and_triggers() -> list[tuple[str, str]]:
    """(name, SQL) of the views and triggers that name libext_record (a host's, sharing the
    database): the rebuild would drop the triggers and fail on the views."""
    rows = op.get_bind().exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('view', 'trigger') "
        "AND lower(sql) LIKE '%libext_record%' ORDER BY type DESC"  # views first
    )
    return [(f"DROP {kind.upper()} \"{name}\"", sql) for kind, name, sql in rows]


def _rebuild(**table_kwargs: object) -> None:
    kept = _views_and_triggers()
    for drop, _sql in kept:
        op.execute(drop)
    with op.batch_alter_table("libext_record", recreate="always", table_kwargs=table_kwargs):
        pass
    for _drop, sql in kept:
        op.execute(sql)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _refuse_with_foreign_keys_on()
    _settle_orphans()
    # Later rebuilds of this table must pass this too: reflection does not see AUTOINCREMENT.
    _rebuild(sqlite_autoincrement=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _refuse_with_foreign_keys_on()
    _rebuild()
