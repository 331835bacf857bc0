"""Helpers for the OAI endpoint tests: load records into the store, serve an app on loopback,
validate responses, and a pyoai client that works with lxml 6."""

from __future__ import annotations

import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pymarc
from flask import Flask
from lxml import etree
from sqlalchemy import select
from werkzeug.serving import make_server

from libext.models import Library, Record
from tests.oai.conftest import validated
from tests.oai.memory_source import marc_record

__all__ = ["validated"]

LIBRARIES = {"HNM": "Thư viện tỉnh Hà Nam", "DDA": "Thư viện huyện Duy Tiên"}


def load_records(app: Flask, count: int, start: int = 1, backdate: bool = True) -> list[int]:
    """Store ``count`` records across two libraries; returns their ids.

    ``backdate`` moves their datestamps a day back (keeping their order), so that changes
    made by a test afterwards are strictly later than anything loaded.
    """
    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        libraries = {}
        for code, name in LIBRARIES.items():
            library = session.scalar(select(Library).where(Library.code == code))
            if library is None:
                library = Library(code=code, name=name)
                session.add(library)
            libraries[code] = library
        session.flush()
        store = state.store()
        ids = []
        for key in range(start, start + count):
            code = "HNM" if key % 2 else "DDA"
            material = "em" if key % 7 == 0 else "am"
            result = store.save(libraries[code], marc_record(key, f"Sách số {key}", code, material))
            ids.append(result.record)
        store.flush()
        if backdate:
            # In Python, not SQL: date arithmetic in SQL differs between SQLite and PostgreSQL.
            for record in ids:
                record.datestamp -= timedelta(days=1)
        session.commit()
        return [r.id for r in ids]


def edit_record(app: Flask, record_id: int, title: str) -> None:
    """A cataloguer changes a record's title."""
    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        record = session.get(Record, record_id)
        marc = pymarc.Record(data=record.marc, to_unicode=True, force_utf8=True)
        marc["245"]["a"] = title
        store = state.store()
        assert store.save(record.library, marc, local_id=record.local_id).action == "updated"
        store.flush()
        session.commit()


def delete_record(app: Flask, record_id: int) -> None:
    """A cataloguer deletes a record (it stays as an OAI deletion)."""
    with app.app_context():
        state = app.extensions["libext"]
        store = state.store()
        assert store.delete(state.db.session.get(Record, record_id))
        store.flush()
        state.db.session.commit()


def live_ids(app: Flask) -> tuple[set[int], set[int]]:
    """(ids of live records, ids of deleted records) in the store."""
    with app.app_context():
        rows = app.extensions["libext"].db.session.execute(select(Record.id, Record.deleted))
        live, gone = set(), set()
        for record_id, deleted in rows:
            (gone if deleted else live).add(record_id)
        return live, gone


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class _Evaluator:
    """lxml's XPathEvaluator with the ``.evaluate`` method lxml 6 removed (pyoai calls it)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._evaluator = etree.XPathEvaluator(*args, **kwargs)

    def __call__(self, path: str, **variables: object) -> object:
        return self._evaluator(path, **variables)

    evaluate = __call__


def pyoai_client(base_url: str):  # type: ignore[no-untyped-def]
    """A pyoai 2.5 ``Client`` reading oai_dc, shimmed for lxml 6.

    pyoai's modules are given an ``etree`` whose ``XPathEvaluator`` has ``.evaluate`` again;
    the rest of lxml is untouched.
    """
    from oaipmh import client as pyoai_client_module
    from oaipmh import metadata as pyoai_metadata

    shim = types.SimpleNamespace(**{n: getattr(etree, n) for n in dir(etree) if n[0] != "_"})
    shim.XPathEvaluator = _Evaluator
    pyoai_client_module.etree = shim
    pyoai_metadata.etree = shim
    registry = pyoai_metadata.MetadataRegistry()
    registry.registerReader("oai_dc", pyoai_metadata.oai_dc_reader)
    return pyoai_client_module.Client(base_url, registry)


def utc_floor(value: datetime) -> datetime:
    """``value`` without its microseconds (OAI datestamps are to the second)."""
    return value.replace(microsecond=0)
