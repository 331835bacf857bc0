"""The extension's wiring: registration, configuration, blueprints, CLI, host database."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from libext import LibExt
from libext.config import DEFAULTS, SETTINGS
from tests.conftest import make_app


def test_state_in_app_extensions(app: Flask) -> None:
    state = app.extensions["libext"]
    assert state.db is app.extensions["sqlalchemy"]
    assert state.owns_db is True


def test_factory_pattern_keeps_no_app(tmp_path: Path) -> None:
    ext = LibExt()
    app = Flask("factory")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    ext.init_app(app)
    assert "libext" in app.extensions
    assert not hasattr(ext, "app")


def test_double_registration_is_refused_with_a_fix(app: Flask) -> None:
    with pytest.raises(RuntimeError, match=r"already registered.*LibExt\(app\) or ext.init_app"):
        LibExt(app)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown options: colour"):
        LibExt(colour="blue")


def test_missing_database_says_what_to_set() -> None:
    with pytest.raises(RuntimeError, match="SQLALCHEMY_DATABASE_URI"):
        LibExt(Flask("nodb"))


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_and_defaulted(app: Flask, setting) -> None:  # type: ignore[no-untyped-def]
    assert setting.name.startswith("LIBEXT_")
    assert len(setting.doc) > 20
    assert setting.name in app.config
    assert DEFAULTS[setting.name] == setting.default


def test_readme_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [s.name for s in SETTINGS if s.name not in readme]
    assert not missing, f"README's configuration table lacks {missing}"


def test_uses_the_hosts_flask_sqlalchemy(tmp_path: Path) -> None:
    host_db = SQLAlchemy()
    app = Flask("host")
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    host_db.init_app(app)
    LibExt(app)
    assert app.extensions["libext"].db is host_db
    assert app.extensions["libext"].owns_db is False


def test_blueprints_are_prefixed_and_mounted(app: Flask) -> None:
    assert "libext_search" in app.blueprints
    assert "libext_api" in app.blueprints
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/" in rules
    assert "/api/libraries" in rules


def test_url_prefixes_are_configurable(db_url: str) -> None:
    prefixes = dict(DEFAULTS["LIBEXT_URL_PREFIXES"], search="/catalogue", api=None)
    app = make_app(db_url, LIBEXT_URL_PREFIXES=prefixes)
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/catalogue/" in rules
    assert not any(r.startswith("/api") for r in rules)
    assert "libext_api" not in app.blueprints


def test_host_can_override_templates(db_url: str, tmp_path: Path) -> None:
    override = tmp_path / "templates" / "libext" / "search"
    override.mkdir(parents=True)
    (override / "index.html").write_text("host's own home page")
    app = Flask("host_with_templates", template_folder=str(tmp_path / "templates"))
    app.config.update(SQLALCHEMY_DATABASE_URI=db_url, SECRET_KEY="x")
    LibExt(app)
    assert app.test_client().get("/").get_data(as_text=True) == "host's own home page"


def test_cli_group_is_registered(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["libext", "--help"])
    assert result.exit_code == 0
    for command in ("init-db", "demo", "library"):
        assert command in result.output
