"""Which database libext talks to, and the SQLite settings it needs.

libext uses the host's Flask-SQLAlchemy instance when the host has one (its sessions and
engines; libext's tables keep their own metadata). Otherwise it creates its own instance on
``SQLALCHEMY_DATABASE_URI``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
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


class SqliteCacheCap:
    """Bounds SQLite's page cache while a bulk load writes, then gives the cache back.

    The search feature gives every SQLite connection a large page cache for queries
    (``LIBEXT_SEARCH_SQLITE_CACHE_MB``). A bulk load of a large file would fill it with
    pages it wrote and never reads again, and the cache alone would take an import past its
    memory bound. Call :meth:`apply` at the start of each transaction (the session may be
    handed another pooled connection after a commit) and :meth:`restore` at the end.
    """

    def __init__(self, session: Session, megabytes: int) -> None:
        self.session = session
        self.kib = megabytes * 1024
        #: the DBAPI connections capped so far -> their cache_size before
        self._before: dict[int, tuple[Any, int]] = {}

    def apply(self) -> None:
        """Cap the cache of the connection the session uses now (SQLite only)."""
        connection = self.session.connection()
        if self.kib <= 0 or connection.dialect.name != "sqlite":
            return
        raw = connection.connection.dbapi_connection
        if id(raw) in self._before:
            return
        before = int(connection.exec_driver_sql("PRAGMA cache_size").scalar() or 0)
        connection.exec_driver_sql(f"PRAGMA cache_size=-{self.kib}")
        self._before[id(raw)] = (raw, before)

    def restore(self) -> None:
        """Give the connection the session holds now its cache size back. Another pooled
        connection capped on the way keeps the cap (may belong to another thread by now):
        its queries are only slower until it is recycled."""
        if not self._before:
            return
        try:
            connection = self.session.connection()
            entry = self._before.pop(id(connection.connection.dbapi_connection), None)
            if entry is not None:
                connection.exec_driver_sql(f"PRAGMA cache_size={entry[1]}")
        except SQLAlchemyError:  # a failed transaction: its own error is the one to see
            return
