"""The standalone app: configuration from the environment, and the demo served at /."""

from __future__ import annotations

from pathlib import Path

import pytest

import wsgi
from libext.config import parse_env_value


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "sqlite:////srv/instance/libext.sqlite3"),
        ({"DATABASE_URL": "postgresql://u:p@h/db"}, "postgresql+psycopg://u:p@h/db"),
        ({"DATABASE_URL": "postgres://u@h/db"}, "postgresql+psycopg://u@h/db"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}, "sqlite:///x.db"),
        ({"DATABASE_URL": "postgresql+psycopg://u@h/db"}, "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_url(environ: dict[str, str], expected: str) -> None:
    assert wsgi.database_url(environ, "/srv/instance") == expected


@pytest.mark.parametrize(
    ("raw", "value"),
    [("100", 100), ("true", True), ('["127.0.0.0/8"]', ["127.0.0.0/8"]), ("Hà Nam", "Hà Nam")],
)
def test_env_values_parse_as_json_else_string(raw: str, value: object) -> None:
    assert parse_env_value(raw) == value


def test_secret_key_is_kept_in_the_instance_folder(tmp_path: Path) -> None:
    first = wsgi.secret_key({}, str(tmp_path))
    assert len(first) == 64
    assert wsgi.secret_key({}, str(tmp_path)) == first
    assert wsgi.secret_key({"SECRET_KEY": "given"}, str(tmp_path)) == "given"


def test_standalone_app_serves_the_demo(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LIBEXT_STORE_BATCH_SIZE", "50")
    app = wsgi.create_app({"TESTING": True})
    assert app.config["LIBEXT_STORE_BATCH_SIZE"] == 50
    runner = app.test_cli_runner()
    assert runner.invoke(args=["libext", "init-db"]).exit_code == 0
    assert runner.invoke(args=["libext", "demo"]).exit_code == 0
    page = app.test_client().get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for name in ("Hà Nam", "Phủ Lý", "Duy Tiên", "Kim Bảng", "Lý Nhân", "Thanh Liêm", "Bình Lục"):
        assert name in text
    if db_url.startswith("sqlite"):
        with app.app_context():
            engine = app.extensions["libext"].db.engine
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
