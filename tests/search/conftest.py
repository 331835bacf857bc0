"""Search fixtures: a demo network loaded once per module, on SQLite and on PostgreSQL.

Loading the demo (≈400 records of seven libraries) through the record store builds clusters
and the index through the same hook every import uses; tests then only read.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import DB_PARAMS, make_app

_counter = itertools.count()


def _database(request: pytest.FixtureRequest, tmp: Path) -> str:
    """A new migrated database of the requested engine, dropped at the end of the scope."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp / "search.sqlite3"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    cluster = request.getfixturevalue("pg_cluster")
    admin: sa.Engine = request.getfixturevalue("pg_admin_engine")
    template_name = request.getfixturevalue("pg_template")
    name = f"s{os.getpid()}_{next(_counter)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    request.addfinalizer(drop)
    return cluster.url(name)


@pytest.fixture(scope="module", params=DB_PARAMS)
def demo_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """An app whose database holds the demo network (read-only for the tests using it)."""
    url = _database(request, tmp_path_factory.mktemp("search"))
    app = make_app(url)
    with app.app_context():
        from libext.demo import load_demo

        load_demo(app.extensions["libext"])
    yield app
    with app.app_context():
        app.extensions["libext"].db.session.remove()
        app.extensions["libext"].db.engine.dispose()


@pytest.fixture
def demo_session(demo_app: Flask) -> Iterator[sa.orm.Session]:
    """The demo database's session inside an app context."""
    with demo_app.app_context():
        session = demo_app.extensions["libext"].db.session
        yield session
        session.rollback()
