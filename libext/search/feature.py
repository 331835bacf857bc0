"""Wires the search into the extension: the store hook and the SQLite page cache."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event

from libext.search.indexer import PREPARER_NAME, after_write, member_prep


def init_app(app: Flask, state: Any) -> None:
    """Register the index's ``after_write`` hook and its preparer; give SQLite connections
    a search-sized cache.

    SQLite's default page cache (2 MB) makes every hit of a broad query a read through the
    operating system; facet counting and ranking touch many pages, so a larger cache
    (``LIBEXT_SEARCH_SQLITE_CACHE_MB``) pays for itself.
    """
    if after_write not in state.after_write:
        state.after_write.append(after_write)
    if (PREPARER_NAME, member_prep) not in state.preparers:
        state.preparers.append((PREPARER_NAME, member_prep))
    cache_mb = int(app.config["LIBEXT_SEARCH_SQLITE_CACHE_MB"] or 0)
    if cache_mb <= 0:
        return
    with app.app_context():
        engine = state.db.engine
    if engine.dialect.name != "sqlite":
        return

    def set_cache(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
        cursor.close()

    if not event.contains(engine, "connect", set_cache):
        event.listen(engine, "connect", set_cache)
