"""The standalone union-catalogue app: ``flask --app wsgi run`` or ``gunicorn 'wsgi:create_app()'``.

Configuration comes from the environment, so a deployment changes no code:

* ``DATABASE_URL`` (or ``SQLALCHEMY_DATABASE_URI``): any SQLAlchemy URL; ``postgresql://``
  URLs use psycopg 3. Default: SQLite at ``instance/libext.sqlite3``.
* ``SECRET_KEY``: signs sessions and resumption tokens. Default: a random key kept in
  ``instance/secret_key``, so it survives restarts.
* every ``LIBEXT_*`` key of :mod:`libext.config`, parsed as JSON when it parses.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from libext import LibExt
from libext.config import from_environ


def database_url(environ: Mapping[str, str], instance_path: str) -> str:
    """The SQLAlchemy URL from the environment, defaulting to SQLite in the instance folder."""
    url = environ.get("DATABASE_URL") or environ.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'libext.sqlite3'}"
    # Heroku-style and plain URLs name no driver; libext speaks psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key(environ: Mapping[str, str], instance_path: str) -> str:
    """``SECRET_KEY`` from the environment, else one kept in the instance folder."""
    if environ.get("SECRET_KEY"):
        return environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the standalone app; ``config`` overrides everything (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    environ = os.environ
    app.config.update(
        SECRET_KEY=secret_key(environ, app.instance_path),
        SQLALCHEMY_DATABASE_URI=database_url(environ, app.instance_path),
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )
    from_environ(app.config, environ)
    if config:
        app.config.update(config)
    LibExt(app)
    return app
