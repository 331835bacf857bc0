"""Uploaded files never outlive their use: removed after an import whatever it raised, on
cancel (page and API), and when a staged upload is older than LIBEXT_MARC_STAGED_MAX_AGE."""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import libext.imports_web as imports_web
from libext.models import ImportBatch, Library, Record, utcnow
from marc.writer import record_to_iso2709
from tests.conftest import make_app
from tests.libext.marc_files import book

API = {"X-Test-User": "ana;roles=cataloguer;libraries=HNM", "Authorization": "Bearer t"}
PAGE = {"X-Test-User": "ana;roles=cataloguer;libraries=HNM"}
OTHER = {"X-Test-User": "bo;roles=cataloguer;libraries=PLY", "Authorization": "Bearer t"}
BOOKS = b"".join(record_to_iso2709(book(f"s{i}", f"Sách {i}")) for i in range(3))


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Iterator[tuple[Flask, FlaskClient, Path]]:
    uploads = tmp_path / "uploads"
    app = make_app(db_url, WTF_CSRF_ENABLED=True, LIBEXT_MARC_UPLOAD_DIR=str(uploads))
    with app.app_context():
        session = app.extensions["libext"].db.session
        session.add_all([Library(code="HNM", name="Hà Nam"), Library(code="PLY", name="Phủ Lý")])
        session.commit()
    yield app, app.test_client(), uploads
    with app.app_context():
        app.extensions["libext"].db.engine.dispose()


def _post(client: FlaskClient, data: bytes = BOOKS, **form: str):  # type: ignore[no-untyped-def]
    fields = {"library": "HNM", **form, "file": (io.BytesIO(data), "sach.mrc")}
    return client.post("/api/imports", data=fields, headers=API, content_type="multipart/form-data")


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_import_removes_its_upload_even_when_something_unexpected_fails(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _app, client, uploads = setup
    assert _post(client).status_code == 201
    assert _files(uploads) == []  # a finished import keeps nothing

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports_web, "run_import", explode)
    with pytest.raises(RuntimeError):  # the test app propagates it instead of answering 500
        _post(client)
    assert _files(uploads) == []


def test_failed_dry_run_and_unreadable_files_leave_nothing(setup) -> None:  # type: ignore[no-untyped-def]
    _app, client, uploads = setup
    assert _post(client, b"not MARC at all\n", dry_run="1").status_code == 422
    assert _post(client, b"not MARC at all\n").status_code == 422
    assert _files(uploads) == []


def test_cancel_through_the_api(setup) -> None:  # type: ignore[no-untyped-def]
    app, client, uploads = setup
    staged = _post(client, dry_run="1").get_json()
    assert len(_files(uploads)) == 1
    batch = staged["batch"]
    assert client.post(f"/api/imports/{batch}/cancel").status_code == 401
    assert client.post(f"/api/imports/{batch}/cancel", headers=OTHER).status_code == 403
    assert len(_files(uploads)) == 1
    done = client.post(f"/api/imports/{batch}/cancel", headers=API)
    assert done.status_code == 200 and done.get_json()["status"] == "cancelled"
    assert _files(uploads) == []
    assert client.post(f"/api/imports/{batch}/cancel", headers=API).status_code == 404
    with app.app_context():
        session = app.extensions["libext"].db.session
        assert session.scalar(select(func.count(ImportBatch.id))) == 0
        assert session.scalar(select(func.count(Record.id))) == 0
    imported = _post(client).get_json()["batch"]
    refused = client.post(f"/api/imports/{imported}/cancel", headers=API)
    assert refused.status_code == 409 and "not waiting" in refused.get_json()["error"]["message"]


def _upload_page(client, data: bytes, name: str):  # type: ignore[no-untyped-def]
    """Upload ``data`` as ``name`` through the cataloguers' page (a dry run to confirm)."""
    page = client.get("/cataloguing/", headers=PAGE).get_data(as_text=True)
    form = {
        "csrf_token": _token(page),
        "library": "HNM",
        "format": "auto",
        "encoding": "auto",
        "match": "001,035,isbn,issn",
        "on_match": "replace",
        "file": (io.BytesIO(data), name),
    }
    return client.post("/cataloguing/", data=form, headers=PAGE, content_type="multipart/form-data")


def test_cancel_on_the_staged_summary_page(setup) -> None:  # type: ignore[no-untyped-def]
    app, client, uploads = setup
    staged = _upload_page(client, BOOKS, "sach.mrc")
    assert staged.status_code == 302
    summary = client.get(staged.headers["Location"], headers=PAGE).get_data(as_text=True)
    batch_id = int(staged.headers["Location"].rstrip("/").split("/")[-1])
    action = f"/cataloguing/batches/{batch_id}/cancel"
    assert f'action="{action}"' in summary
    assert client.post(action, headers=PAGE).status_code == 400  # no CSRF token
    assert client.post(action, data={"csrf_token": _token(summary)}).status_code == 401
    plyer = {"X-Test-User": "bo;roles=cataloguer;libraries=PLY"}
    assert (
        client.post(action, data={"csrf_token": _token(summary)}, headers=plyer).status_code == 403
    )
    assert len(_files(uploads)) == 1
    cancelled = client.post(action, data={"csrf_token": _token(summary)}, headers=PAGE)
    assert cancelled.status_code == 302
    assert _files(uploads) == []
    with app.app_context():
        session = app.extensions["libext"].db.session
        assert session.get(ImportBatch, batch_id) is None
    assert client.get(f"/cataloguing/batches/{batch_id}", headers=PAGE).status_code == 404


def test_stale_staged_uploads_expire_when_a_new_one_is_staged(setup) -> None:  # type: ignore[no-untyped-def]
    app, client, uploads = setup
    app.config["LIBEXT_MARC_STAGED_MAX_AGE"] = 3600
    old = _post(client, dry_run="1").get_json()["batch"]
    recent = _post(client, dry_run="1").get_json()["batch"]
    with app.app_context():
        session = app.extensions["libext"].db.session
        stale = session.get(ImportBatch, old)
        stale.created = utcnow() - timedelta(seconds=3601)
        old_path = stale.staged_path
        recent_path = session.get(ImportBatch, recent).staged_path
        session.commit()
    # A file a killed worker left behind, named by no batch: old ones go, fresh ones stay.
    orphan, fresh = uploads / "orphan.mrc", uploads / "fresh.mrc"
    orphan.write_bytes(b"x")
    fresh.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(orphan, (two_hours_ago, two_hours_ago))
    newest = _post(client, dry_run="1").get_json()["batch"]
    with app.app_context():
        session = app.extensions["libext"].db.session
        assert session.get(ImportBatch, old) is None
        kept = {b.id for b in session.scalars(select(ImportBatch))}
        assert kept == {recent, newest}
        newest_path = session.get(ImportBatch, newest).staged_path
    assert not Path(old_path).exists() and not orphan.exists()
    assert Path(recent_path).exists() and Path(newest_path).exists() and fresh.exists()
    assert client.post(f"/api/imports/{old}/confirm", headers=API).status_code == 404
    assert client.post(f"/api/imports/{recent}/confirm", headers=API).status_code == 201


def test_max_age_default_is_a_day(setup) -> None:  # type: ignore[no-untyped-def]
    app, _client, _uploads = setup
    assert app.config["LIBEXT_MARC_STAGED_MAX_AGE"] == 86_400


EMPTY_MARCXML = b'<?xml version="1.0"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim"/>\n'


def _shows_no_server_path(text: str, uploads: Path) -> None:
    assert str(uploads) not in text
    assert not re.search(r"[0-9a-f]{32}", text), text  # the stored copy's name


@pytest.mark.parametrize("dry_run", ["", "1"])
def test_unreadable_uploads_are_named_as_uploaded(setup, dry_run: str) -> None:  # type: ignore[no-untyped-def]
    app, client, uploads = setup
    for data, name, says in [
        (b"not MARC at all\n", "ghi-chu.txt", "not in a MARC format"),
        (b"   \n", "trong.mrc", "empty"),
        (EMPTY_MARCXML, "rong.xml", "no MARC record found"),
    ]:
        fields = {"library": "HNM", "dry_run": dry_run, "file": (io.BytesIO(data), name)}
        response = client.post(
            "/api/imports", data=fields, headers=API, content_type="multipart/form-data"
        )
        assert response.status_code == 422, name
        message = response.get_json()["error"]["message"]
        assert message.startswith(name) and says in message, message
        _shows_no_server_path(response.get_data(as_text=True), uploads)
    # a real import that failed part-way is kept as a failed batch: its message too
    with app.app_context():
        session = app.extensions["libext"].db.session
        failed = session.scalars(select(ImportBatch).where(ImportBatch.status == "failed")).all()
    assert len(failed) == (0 if dry_run else 1)
    for batch in failed:
        shown = client.get(f"/api/imports/{batch.id}", headers=API)
        assert shown.get_json()["message"].startswith("rong.xml")
        _shows_no_server_path(shown.get_data(as_text=True), uploads)
        page = client.get(f"/cataloguing/batches/{batch.id}", headers=PAGE)
        assert page.status_code == 200 and "rong.xml" in page.get_data(as_text=True)
        _shows_no_server_path(page.get_data(as_text=True), uploads)
    _shows_no_server_path(client.get("/cataloguing/", headers=PAGE).get_data(as_text=True), uploads)


def test_the_upload_page_names_an_unreadable_file_as_uploaded(setup) -> None:  # type: ignore[no-untyped-def]
    _app, client, uploads = setup
    response = _upload_page(client, b"not MARC at all\n", "ghi-chu.txt")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "ghi-chu.txt is not in a MARC format" in text
    _shows_no_server_path(text, uploads)
