"""Shared fixtures: the same database tests on SQLite and on a real PostgreSQL server.

* ``db_url`` — parametrised ``sqlite`` / ``postgresql``: a new, migrated, empty database per
  test (SQLite: a copy of a migrated file; PostgreSQL: ``CREATE DATABASE … TEMPLATE``).
* ``empty_db_url`` — the same, but not migrated (migration tests).
* ``app`` — a bare ``Flask()`` app with ``LibExt`` on ``db_url``; ``client`` and ``runner``.
* ``principal_headers`` — headers that log a test request in with given roles/libraries,
  through the principal-loader seam a host ILS uses.

The PostgreSQL cluster starts once per session. Without PostgreSQL binaries the postgresql
tests skip saying why, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask, request
from flask.testing import FlaskClient, FlaskCliRunner

from libext import LibExt, Principal
from libext.migrate import upgrade
from tests.postgres import Cluster, PostgresUnavailable, start_cluster

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_counter = itertools.count()

DB_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
]


# --- PostgreSQL -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the whole session."""
    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        if ON_CI:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pg_admin_engine(pg_cluster: Cluster) -> Iterator[sa.Engine]:
    """An autocommit engine on the cluster's ``postgres`` database, for CREATE DATABASE."""
    engine = sa.create_engine(pg_cluster.url(), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_cluster: Cluster, pg_admin_engine: sa.Engine) -> str:
    """A migrated database that per-test databases are copied from."""
    with pg_admin_engine.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE libext_template"))
    engine = sa.create_engine(pg_cluster.url("libext_template"), poolclass=sa.NullPool)
    upgrade(engine)
    engine.dispose()
    return "libext_template"


def _new_pg_database(request: pytest.FixtureRequest, template: str) -> str:
    """CREATE DATABASE from ``template``; dropped (forcing connections closed) after the test."""
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    admin: sa.Engine = request.getfixturevalue("pg_admin_engine")
    if template != "template0":
        template = request.getfixturevalue("pg_template")
    name = f"t{os.getpid()}_{next(_counter)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    request.addfinalizer(drop)
    return cluster.url(name)


# --- SQLite ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that per-test databases are copied from."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.NullPool)
    upgrade(engine)
    engine.dispose()
    return path


# --- database URLs --------------------------------------------------------------------------
@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, migrated, empty database: SQLite or PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "libext.sqlite3"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    return _new_pg_database(request, "libext_template")


@pytest.fixture(params=DB_PARAMS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database with no tables at all: SQLite or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return _new_pg_database(request, "template0")


# --- apps -----------------------------------------------------------------------------------
def header_principal_loader() -> Principal | None:
    """Test-only principal loader: ``X-Test-User: name;roles=a,b;libraries=X,Y``.

    It stands for a host ILS's login, plugged in through ``LIBEXT_AUTH_PRINCIPAL_LOADER``.
    """
    raw = request.headers.get("X-Test-User")
    if not raw:
        return None
    name, *parts = raw.split(";")
    fields = dict(p.split("=", 1) for p in parts if "=" in p)
    split = lambda key: frozenset(v for v in fields.get(key, "").split(",") if v)  # noqa: E731
    return Principal(name=name, roles=split("roles"), libraries=split("libraries"))


def make_app(db_url: str, **config: object) -> Flask:
    """A bare Flask app with libext on ``db_url`` (what a host ILS would build)."""
    app = Flask("libext_test")
    app.config.update(
        TESTING=True,
        SECRET_KEY="test-secret",
        SQLALCHEMY_DATABASE_URI=db_url,
        LIBEXT_AUTH_PRINCIPAL_LOADER=header_principal_loader,
        # Tests post without CSRF tokens; tests/security turns CSRF on and checks it.
        WTF_CSRF_ENABLED=False,
        # CLI tests run imports in the test process itself: keep its normal priority
        # (test_cli.py checks the niceness in a child process).
        LIBEXT_BATCH_NICENESS=0,
        # Records are read in the test process; tests of the worker processes ask for them.
        LIBEXT_WORKER_PROCESSES=0,
    )
    app.config.update(config)
    LibExt(app)
    return app


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    """A bare Flask app with libext on a fresh database (each engine in turn)."""
    application = make_app(db_url)
    yield application
    with application.app_context():
        application.extensions["libext"].db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner of ``app``."""
    return app.test_cli_runner()


@pytest.fixture
def principal_headers() -> Callable[..., dict[str, str]]:
    """``principal_headers("ana", roles=["cataloguer"], libraries=["HNM"])`` → headers."""

    def build(
        name: str = "tester",
        roles: tuple[str, ...] | list[str] = (),
        libraries: tuple[str, ...] | list[str] = (),
    ) -> dict[str, str]:
        value = f"{name};roles={','.join(roles)};libraries={','.join(libraries)}"
        return {"X-Test-User": value}

    return build
