"""``/api/imports`` and ``/api/export``: upload, report, revert, rejects, streamed export;
only a cataloguer of the library may use them; bad input is a 4xx with a JSON error."""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from libext.models import Library
from marc.reader import MarcReader
from marc.writer import record_to_iso2709
from tests.libext.marc_files import book
from tests.marc.test_formats import damaged_gzip
from tests.paths import MARC_DIR, XSD_DIR


@pytest.fixture
def api(app: Flask, client: FlaskClient):  # type: ignore[no-untyped-def]
    with app.app_context():
        session = app.extensions["libext"].db.session
        session.add_all([Library(code="HNM", name="Hà Nam"), Library(code="PLY", name="Phủ Lý")])
        session.commit()
    return client


def who(roles: str = "cataloguer", libraries: str = "HNM") -> dict[str, str]:
    # The bearer header stands for an API token: API calls made with one need no CSRF token.
    return {"X-Test-User": f"ana;roles={roles};libraries={libraries}", "Authorization": "Bearer t"}


def upload(client: FlaskClient, data: bytes, name: str = "books.mrc", headers=None, **form):  # type: ignore[no-untyped-def]
    fields = {"library": "HNM", **form, "file": (io.BytesIO(data), name)}
    return client.post(
        "/api/imports",
        data=fields,
        headers=who() if headers is None else headers,
        content_type="multipart/form-data",
    )


BOOKS = b"".join(record_to_iso2709(book(f"b{i}", f"Sách {i}")) for i in range(3))


def test_anonymous_and_other_libraries_are_refused(api: FlaskClient) -> None:
    assert upload(api, BOOKS, headers={}).status_code == 401
    other = upload(api, BOOKS, headers=who(libraries="PLY"))
    assert other.status_code == 403
    assert other.get_json()["error"]["code"] == 403
    # exports are public; only the whole records (internal=1) are the library's own
    assert api.get("/api/export?internal=1").status_code == 401
    other = api.get("/api/export?library=HNM&internal=1", headers=who(libraries="PLY"))
    assert other.status_code == 403


def test_import_report_and_revert(api: FlaskClient) -> None:
    response = upload(api, BOOKS)
    assert response.status_code == 201
    report = response.get_json()
    assert {k: report[k] for k in ("read", "created", "updated", "skipped", "rejected")} == {
        "read": 3,
        "created": 3,
        "updated": 0,
        "skipped": 0,
        "rejected": 0,
    }
    batch = report["batch"]
    shown = api.get(f"/api/imports/{batch}", headers=who()).get_json()
    assert shown["status"] == "done" and shown["created"] == 3
    assert api.get(f"/api/imports/{batch}", headers=who(libraries="PLY")).status_code == 403
    reverted = api.post(f"/api/imports/{batch}/revert", headers=who())
    assert reverted.status_code == 200 and reverted.get_json()["removed"] == 3
    assert api.post(f"/api/imports/{batch}/revert", headers=who()).status_code == 409


def test_dry_run_stages_then_confirm(api: FlaskClient) -> None:
    staged = upload(api, BOOKS, dry_run="true")
    assert staged.status_code == 201
    body = staged.get_json()
    assert body["dry_run"] and body["created"] == 3
    exported = api.get("/api/export?library=HNM", headers=who())
    assert exported.data == b""  # nothing written yet
    confirmed = api.post(f"/api/imports/{body['batch']}/confirm", headers=who())
    assert confirmed.status_code == 201 and confirmed.get_json()["created"] == 3


def test_rejects_are_reported_and_downloadable(api: FlaskClient) -> None:
    data = (MARC_DIR / "pymarc__bad_records.mrc").read_bytes()
    report = upload(api, data).get_json()
    assert report["rejected"] == report["read"] == 8
    assert all(e["reason"] for e in report["errors"])
    download = api.get(f"/api/imports/{report['batch']}/rejects", headers=who())
    assert download.status_code == 200
    assert download.data.count(b"\x1d") == 8


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"library": ""}, 400),
        ({"library": "NOPE"}, 403),
        ({"on_match": "explode"}, 400),
        ({"encoding": "klingon"}, 400),
        ({"format": "pdf"}, 400),
        ({"match": "title"}, 400),
    ],
)
def test_bad_arguments(api: FlaskClient, form: dict, status: int) -> None:
    response = upload(api, BOOKS, **form)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_missing_file_and_unreadable_file(api: FlaskClient) -> None:
    response = api.post(
        "/api/imports", data={"library": "HNM"}, headers=who(), content_type="multipart/form-data"
    )
    assert response.status_code == 400
    response = upload(api, b"this is not MARC at all\n", name="notes.txt")
    assert response.status_code == 422
    assert "not in a MARC format" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("fmt", ["iso2709", "marcxml", "json", "mrk"])
def test_export_streams_every_format(api: FlaskClient, fmt: str) -> None:
    upload(api, BOOKS)
    response = api.get(f"/api/export?format={fmt}&library=HNM", headers=who())
    assert response.status_code == 200
    assert response.is_streamed
    records = list(MarcReader(io.BytesIO(response.data)))
    assert sorted(r.control_number for r in records) == ["b0", "b1", "b2"]
    if fmt == "marcxml":
        schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "MARC21slim.xsd")))
        assert schema.validate(etree.fromstring(response.data))
    if fmt == "json":
        assert len(json.loads(response.data)) == 3


def test_export_filters(api: FlaskClient) -> None:
    upload(api, BOOKS)
    assert api.get("/api/export?format=pdf", headers=who()).status_code == 400
    assert api.get("/api/export?since=yesterday", headers=who()).status_code == 400
    future = api.get("/api/export?since=2999-01-01", headers=who())
    assert future.status_code == 200 and future.data == b""
    everything = api.get("/api/export", headers=who())
    assert everything.data.count(b"\x1d") == 3


def test_a_damaged_gzip_upload_is_a_422_not_a_500(api: FlaskClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for damage in ("truncated", "crc"):
        response = upload(api, damaged_gzip(tmp_path, damage).read_bytes(), name="books.mrc.gz")
        assert response.status_code == 422, response.get_data(as_text=True)
        assert "is damaged after" in response.get_json()["error"]["message"]


def test_a_staged_batch_shows_its_dry_run_errors_and_examples(api: FlaskClient) -> None:
    bad = (MARC_DIR / "pymarc__bad_records.mrc").read_bytes()
    staged = upload(api, BOOKS + bad, dry_run="true").get_json()
    assert staged["rejected"] == 8 and len(staged["errors"]) == 8 and staged["examples"]
    shown = api.get(f"/api/imports/{staged['batch']}", headers=who()).get_json()
    assert shown["status"] == "staged" and shown["dry_run"] and shown["rejected"] == 8
    assert shown["errors"] == staged["errors"]
    assert shown["examples"] == staged["examples"]
    assert not shown["errors_truncated"]
    # once confirmed, the report comes from the stored outcomes
    done = api.post(f"/api/imports/{staged['batch']}/confirm", headers=who()).get_json()
    shown = api.get(f"/api/imports/{done['batch']}", headers=who()).get_json()
    assert not shown["dry_run"] and [e["reason"] for e in shown["errors"]] == [
        e["reason"] for e in staged["errors"]
    ]
