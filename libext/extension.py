"""The Flask extension: ``LibExt(app)`` or ``ext = LibExt(); ext.init_app(app)``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from libext.auth import PrincipalLoader, anonymous_loader
from libext.config import apply_defaults
from libext.db import resolve_db
from libext.seam import StoreRecordSource
from libext.store import AfterWrite, Preparer, RecordStore
from oai.source import RecordSource

#: Blueprints libext registers, by the name used in ``LIBEXT_URL_PREFIXES``.
BLUEPRINTS: dict[str, str] = {
    "search": "blueprints.search:bp",
    "api": "blueprints.api:bp",
    "accounts": "blueprints.accounts:bp",
    "oai": "blueprints.oai:bp",
    "sru": "blueprints.sru:bp",
    "admin": "blueprints.admin:bp",
    "cataloguing": "blueprints.cataloguing:bp",
}

#: Feature initialisers called from ``init_app`` with ``(app, state)``: each feature wires
#: its hooks (search index, clusters…) here.
FEATURES: list[str] = [
    "libext.search.feature:init_app",
    "libext.security:init_app",
    "libext.matching:init_app",
]

LOCALES = ("vi", "en")
TRANSLATIONS = Path(__file__).with_name("translations")


def import_string(path: str) -> Any:
    """``'package.module:attribute'`` → the attribute."""
    module_name, _, attr = path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


@dataclass
class LibExtState:
    """Per-app state kept in ``app.extensions["libext"]``."""

    db: SQLAlchemy
    owns_db: bool
    principal_loader: PrincipalLoader
    record_source_factory: Callable[[], RecordSource] | None = None
    after_write: list[AfterWrite] = field(default_factory=list)
    #: Preparers (name, function) that go with the hooks: see :data:`libext.store.Preparer`.
    preparers: list[tuple[str, Preparer]] = field(default_factory=list)

    def record_source(self) -> RecordSource:
        """The seam the OAI provider and exporter read from (the host's, else the store)."""
        if self.record_source_factory is not None:
            return self.record_source_factory()
        return StoreRecordSource(self.db.session)  # type: ignore[arg-type]

    def store(self) -> RecordStore:
        """A record store on the current session, with every registered hook."""
        return RecordStore(
            self.db.session,  # type: ignore[arg-type]
            self.after_write,
            preparers=self.preparers,
        )


class LibExt:
    """MARC import/export, OAI-PMH provider and harvester, and union-catalogue search.

    Options (each also settable through configuration, see :mod:`libext.config`):

    ``db``
        A Flask-SQLAlchemy instance to use. By default libext uses the host's registered
        instance, or creates its own on ``SQLALCHEMY_DATABASE_URI``.
    ``record_source``
        The host seam (:class:`oai.source.RecordSource`, or a callable returning one), for an
        ILS that publishes its own tables.
    ``principal_loader``
        A callable returning the current user's :class:`libext.auth.Principal`.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        unknown = set(options) - {"db", "record_source", "principal_loader"}
        if unknown:
            raise TypeError(f"LibExt() got unknown options: {', '.join(sorted(unknown))}")
        self._options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register libext on ``app``: config defaults, database, blueprints, CLI, i18n."""
        if "libext" in app.extensions:
            raise RuntimeError(
                "libext is already registered on this app. Create one LibExt per app, and call "
                "either LibExt(app) or ext.init_app(app), not both."
            )
        apply_defaults(app.config)
        db, owns_db = resolve_db(app, self._options.get("db"))
        state = LibExtState(
            db=db,
            owns_db=owns_db,
            principal_loader=self._principal_loader(app),
            record_source_factory=self._record_source_factory(app),
        )
        app.extensions["libext"] = state
        self._init_babel(app)
        self._register_blueprints(app)
        from libext.cli import cli

        app.cli.add_command(cli)
        for path in FEATURES:
            import_string(path)(app, state)

    # -- wiring ------------------------------------------------------------------------------
    def _principal_loader(self, app: Flask) -> PrincipalLoader:
        loader = self._options.get("principal_loader") or app.config["LIBEXT_AUTH_PRINCIPAL_LOADER"]
        if isinstance(loader, str):
            loader = import_string(loader)
        return loader or anonymous_loader

    def _record_source_factory(self, app: Flask) -> Callable[[], RecordSource] | None:
        source = self._options.get("record_source") or app.config["LIBEXT_RECORD_SOURCE"]
        if isinstance(source, str):
            source = import_string(source)
        if source is None:
            return None
        if isinstance(source, RecordSource):
            return lambda: source
        if callable(source):
            return source
        raise TypeError("LIBEXT_RECORD_SOURCE must be a RecordSource or a callable returning one")

    @staticmethod
    def _register_blueprints(app: Flask) -> None:
        prefixes: dict[str, str | None] = app.config["LIBEXT_URL_PREFIXES"]
        for name, target in BLUEPRINTS.items():
            prefix = prefixes.get(name, f"/{name}")
            if prefix is None:
                continue
            app.register_blueprint(import_string(target), url_prefix=prefix or None)

    @staticmethod
    def _init_babel(app: Flask) -> None:
        babel_dirs = str(TRANSLATIONS)
        if "babel" in app.extensions:
            # The host translates its own pages; add libext's catalogue beside its own.
            existing = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations")
            if babel_dirs not in existing.split(";"):
                app.config["BABEL_TRANSLATION_DIRECTORIES"] = f"{existing};{babel_dirs}"
            return
        app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", babel_dirs)
        Babel(app, locale_selector=select_locale)


def select_locale() -> str:
    """``?lang=vi|en`` (remembered in the session), else the session's, else the default."""
    from flask import current_app

    asked = request.args.get("lang")
    if asked in LOCALES:
        if current_app.secret_key:
            session["libext_lang"] = asked
        return asked
    chosen = session.get("libext_lang")
    if chosen in LOCALES:
        return chosen
    return current_app.config.get("LIBEXT_DEFAULT_LOCALE", "vi")
