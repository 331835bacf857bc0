"""The cataloguer's import pages: upload, staged summary, confirm, report, rejects, revert."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from libext.models import ImportBatch, Library, Record
from marc.writer import record_to_iso2709
from tests.conftest import make_app
from tests.libext.marc_files import book
from tests.marc.helpers import data_field, make_iso
from tests.paths import MARC_DIR

ANA = {"X-Test-User": "ana;roles=cataloguer;libraries=HNM"}


@pytest.fixture
def web(db_url: str, tmp_path) -> Iterator[tuple[Flask, FlaskClient]]:  # type: ignore[no-untyped-def]
    app = make_app(db_url, WTF_CSRF_ENABLED=True, LIBEXT_MARC_UPLOAD_DIR=str(tmp_path / "uploads"))
    with app.app_context():
        session = app.extensions["libext"].db.session
        session.add_all([Library(code="HNM", name="Hà Nam"), Library(code="PLY", name="Phủ Lý")])
        session.commit()
    yield app, app.test_client()
    with app.app_context():
        app.extensions["libext"].db.engine.dispose()


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html
    )
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _upload(client: FlaskClient, data: bytes, name: str = "sach.mrc"):  # type: ignore[no-untyped-def]
    page = client.get("/cataloguing/", headers=ANA)
    assert page.status_code == 200
    form = {
        "csrf_token": _token(page.get_data(as_text=True)),
        "library": "HNM",
        "format": "auto",
        "encoding": "auto",
        "match": "001,035,isbn,issn",
        "on_match": "replace",
        "file": (io.BytesIO(data), name),
    }
    return client.post("/cataloguing/", data=form, headers=ANA, content_type="multipart/form-data")


def test_pages_need_a_cataloguer(web) -> None:  # type: ignore[no-untyped-def]
    _app, client = web
    assert client.get("/cataloguing/").status_code == 401
    reader = {"X-Test-User": "bob;roles=;libraries="}
    assert client.get("/cataloguing/", headers=reader).status_code == 403


def test_upload_stage_confirm_revert(web) -> None:  # type: ignore[no-untyped-def]
    app, client = web
    data = b"".join(record_to_iso2709(book(f"w{i}", f"Sách {i}")) for i in range(3))
    # and one whose leader/09 lies (says MARC-8 over UTF-8 text): read, with a warning
    data += make_iso([("001", b"w3"), ("245", data_field("10", ("a", "Sách 3".encode())))], " ")
    data += (MARC_DIR / "pymarc__bad_subfield_code.dat").read_bytes()
    staged = _upload(client, data)
    assert staged.status_code == 302
    summary = client.get(staged.headers["Location"], headers=ANA)
    html = summary.get_data(as_text=True)
    assert summary.status_code == 200
    assert re.search(r'id="created">4<', html) and re.search(r'id="rejected">1<', html)
    assert "subfield code" in html or "record" in html
    assert "leader/09 says MARC-8" in html  # the warning, before confirming
    with app.app_context():
        session = app.extensions["libext"].db.session
        assert session.scalar(select(func.count(Record.id))) == 0  # nothing written yet
        batch_id = session.scalar(select(ImportBatch.id))
    token = _token(html)
    done = client.post(
        f"/cataloguing/batches/{batch_id}/confirm", data={"csrf_token": token}, headers=ANA
    )
    assert done.status_code == 302
    report = client.get(done.headers["Location"], headers=ANA)
    page = report.get_data(as_text=True)
    assert re.search(r'id="status">done<', page) and re.search(r'id="created">4<', page)
    assert "leader/09 says MARC-8" in page  # and after: the batch keeps it
    new_id = int(done.headers["Location"].rstrip("/").split("/")[-1])
    rejects = client.get(f"/cataloguing/batches/{new_id}/rejects", headers=ANA)
    assert rejects.status_code == 200 and rejects.data.endswith(b"\x1d")
    reverted = client.post(
        f"/cataloguing/batches/{new_id}/revert", data={"csrf_token": _token(page)}, headers=ANA
    )
    assert reverted.status_code == 302
    with app.app_context():
        session = app.extensions["libext"].db.session
        live = session.scalar(select(func.count(Record.id)).where(Record.deleted.is_(False)))
        assert live == 0


def test_post_without_csrf_token_is_refused(web) -> None:  # type: ignore[no-untyped-def]
    _app, client = web
    form = {"library": "HNM", "file": (io.BytesIO(b"x"), "a.mrc")}
    response = client.post(
        "/cataloguing/", data=form, headers=ANA, content_type="multipart/form-data"
    )
    assert response.status_code == 400


def test_upload_over_the_limit_is_refused(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    uploads = tmp_path / "uploads"
    app = make_app(db_url, LIBEXT_MAX_UPLOAD_BYTES=1000, LIBEXT_MARC_UPLOAD_DIR=str(uploads))
    client = app.test_client()
    with app.app_context():
        session = app.extensions["libext"].db.session
        session.add(Library(code="HNM", name="Hà Nam"))
        session.commit()
    response = client.post(
        "/cataloguing/",
        data={"library": "HNM", "file": (io.BytesIO(b"0" * 5000), "big.mrc")},
        headers=ANA,
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert not uploads.exists() or list(uploads.iterdir()) == []
    with app.app_context():
        app.extensions["libext"].db.engine.dispose()


def test_unreadable_upload_is_explained(web) -> None:  # type: ignore[no-untyped-def]
    _app, client = web
    response = _upload(client, b"plain notes, not MARC\n", "notes.txt")
    assert response.status_code == 422
    assert "MARC" in response.get_data(as_text=True)
