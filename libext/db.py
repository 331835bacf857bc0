"""Which database libext talks to, and the SQLite settings it needs.

libext uses the host's Flask-SQLAlchemy instance when the host has one (its sessions and
engines; libext's tables keep their own metadata). Otherwise it creates its own instance on
``SQLALCHEMY_DATABASE_URI``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

#: SQLite waits this long (milliseconds) for a lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (searches, OAI harvesters) run while an import writes; the busy
    # timeout makes concurrent writers wait instead of failing; SQLite leaves foreign keys
    # off unless asked, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def configure_sqlite(engine: Engine) -> None:
    """Turn on WAL, a busy timeout and foreign keys on every SQLite connection of ``engine``."""
    if engine.dialect.name == "sqlite" and not event.contains(
        engine, "connect", _sqlite_on_connect
    ):
        event.listen(engine, "connect", _sqlite_on_connect)


def resolve_db(app: Flask, given: SQLAlchemy | None) -> tuple[SQLAlchemy, bool]:
    """The Flask-SQLAlchemy instance to use, and whether libext created it.

    Order: the instance passed to ``LibExt(db=...)``, the host's registered instance, a new
    one of libext's own.
    """
    if given is not None:
        if "sqlalchemy" not in app.extensions:
            given.init_app(app)
        return given, False
    host = app.extensions.get("sqlalchemy")
    if host is not None:
        return host, False
    if not app.config.get("SQLALCHEMY_DATABASE_URI") and not app.config.get("SQLALCHEMY_BINDS"):
        raise RuntimeError(
            "libext needs a database: set SQLALCHEMY_DATABASE_URI, or initialise your own "
            "Flask-SQLAlchemy instance before LibExt and libext will use it."
        )
    own = SQLAlchemy()
    own.init_app(app)
    with app.app_context():
        configure_sqlite(own.engine)
    return own, True


def get_db() -> SQLAlchemy:
    """The Flask-SQLAlchemy instance of the current app."""
    return current_app.extensions["libext"].db


def get_session() -> Session:
    """The scoped session of the current app's database."""
    return get_db().session  # type: ignore[return-value]


#: SQLite page cache of a bulk load's transactions (imports, harvests), MB.
BULK_SQLITE_CACHE_MB = 16


@contextlib.contextmanager
def capped_sqlite_cache(session: Session, megabytes: int) -> Iterator[None]:
    """Bound SQLite's page cache for one transaction of a bulk load, then give it back.

    The search feature gives every SQLite connection a large page cache for queries
    (``LIBEXT_SEARCH_SQLITE_CACHE_MB``). A bulk load of a large file would fill it with
    pages it wrote and never reads again, and the cache alone would take an import past its
    memory bound. The cap is set on the transaction's connection, only if it lowers the
    cache, and the old size is given back before the block ends: leave the block before
    committing, as a committed session's connection may go to another thread of the pool.
    """
    connection = session.connection()
    if megabytes <= 0 or connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection
    assert raw is not None
    before = int(raw.execute("PRAGMA cache_size").fetchone()[0])
    # Negative: KiB; positive: pages.
    kib = (
        -before
        if before < 0
        else before * int(raw.execute("PRAGMA page_size").fetchone()[0]) // 1024
    )
    if kib <= megabytes * 1024:
        yield
        return
    raw.execute(f"PRAGMA cache_size=-{megabytes * 1024}")
    try:
        yield
    finally:
        # On the DBAPI connection itself: it works even when an error broke the session.
        with contextlib.suppress(Exception):
            raw.execute(f"PRAGMA cache_size={before}")
