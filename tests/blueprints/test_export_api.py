"""``GET /api/export`` public and internal: anonymous users get every format without the
library's internal data, its cataloguers (``internal=1``) get the records whole; on SQLite
and PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pymarc
import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select

from libext.exporter import parse_since
from libext.models import Library, Record
from marc.errors import UnusableInput
from marc.internal_fields import public_field, public_record
from marc.reader import MarcReader
from marc.writer import record_to_iso2709
from tests.libext.marc_files import book, koha_book, koha_exported
from tests.paths import XSD_DIR

CATALOGUER = {"X-Test-User": "ana;roles=cataloguer;libraries=HNM", "Authorization": "Bearer t"}
FORMATS = ["iso2709", "marcxml", "json", "mrk"]
#: Values only the library may see, one per kind of internal data.
SECRETS = {
    "952": "KOHA-ITEM-7",
    "942": "LOCAL-TYPE",
    "852$p": "BARCODE-7",
    "852$x": "chỉ nhân viên xem",
    "541": "Nhà hảo tâm X",
    "583": "thanh lý 2023",
    "876$p": "ITEM-BARCODE-7",
}


def _internal_book() -> pymarc.Record:
    record = book("int-7", "Sách có dữ liệu nội bộ")

    def field(tag: str, *pairs: tuple[str, str], ind1: str = " ") -> pymarc.Field:
        subs = [pymarc.Subfield(c, v) for c, v in pairs]
        return pymarc.Field(tag, pymarc.Indicators(ind1, " "), subs)

    record.add_field(
        field("541", ("a", SECRETS["541"]), ("h", "120000 VND"), ind1="0"),
        field("583", ("a", SECRETS["583"]), ("k", "Thủ thư A")),
        field(
            "852",
            ("a", "HNM"),
            ("b", "Kho mở"),
            ("h", "895.922 NG-D"),
            ("p", SECRETS["852$p"]),
            ("x", SECRETS["852$x"]),
            ("z", "Đọc tại chỗ"),
        ),
        field("876", ("a", "7"), ("p", SECRETS["876$p"]), ("c", "120000"), ("z", "public note")),
        field("942", ("c", SECRETS["942"])),
        field("952", ("a", "HNM"), ("p", SECRETS["952"]), ("g", "120000")),
    )
    return record


@pytest.fixture
def client(app: Flask, client: FlaskClient) -> FlaskClient:
    with app.app_context():
        session = app.extensions["libext"].db.session
        session.add_all([Library(code="HNM", name="Hà Nam"), Library(code="PLY", name="Phủ Lý")])
        session.commit()
    data = record_to_iso2709(_internal_book()) + record_to_iso2709(book("plain-1", "Sách"))
    response = _upload(client, data, "books.mrc")
    assert response.status_code == 201 and response.get_json()["created"] == 2
    return client


def _upload(
    client: FlaskClient,
    data: bytes,
    name: str,
    *,
    library: str = "HNM",
    headers: dict[str, str] = CATALOGUER,
):  # type: ignore[no-untyped-def]
    """POST ``data`` to /api/imports as the file ``name``, for ``library``."""
    return client.post(
        "/api/imports",
        data={"library": library, "file": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def _records(data: bytes) -> dict[str, pymarc.Record]:
    if b"<record" not in data and not data.strip(b" \n[]"):
        return {}  # nothing exported: an empty file (ISO 2709, .mrk) or an empty array
    try:
        return {r.record["001"].data: r.record for r in MarcReader(io.BytesIO(data)) if r.ok}
    except UnusableInput as exc:  # an empty MARCXML collection
        assert "no MARC record found" in str(exc) and b"</collection>" in data
        return {}


def _check_format(fmt: str, data: bytes) -> None:
    if fmt == "marcxml":
        schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "MARC21slim.xsd")))
        assert schema.validate(etree.fromstring(data)), schema.error_log.last_error
    if fmt == "json":
        assert len(json.loads(data)) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_anonymous_export_leaves_internal_data_out(client: FlaskClient, fmt: str) -> None:
    for query in (
        f"format={fmt}&library=HNM",
        f"format={fmt}",
        f"format={fmt}&q=n%E1%BB%99i+b%E1%BB%99",
    ):
        response = client.get(f"/api/export?{query}")
        assert response.status_code == 200, query
        text = response.data.decode("utf-8")
        leaked = [name for name, value in SECRETS.items() if value in text]
        assert not leaked, (query, leaked)
        records = _records(response.data)
        if "q=" not in query:
            assert set(records) == {"int-7", "plain-1"}
            _check_format(fmt, response.data)
        public = records["int-7"]
        tags = [f.tag for f in public.fields]
        assert not any(t.startswith("9") or t in ("541", "583") for t in tags)
        # its own 852 less barcode and nonpublic note, and its Koha 952 item as an 852
        own, item = public.get_fields("852")
        assert [(s.code, s.value) for s in own.subfields] == [
            ("a", "HNM"),
            ("b", "Kho mở"),
            ("h", "895.922 NG-D"),
            ("z", "Đọc tại chỗ"),
        ]
        assert [(s.code, s.value) for s in item.subfields] == [("a", "HNM")]
        (f876,) = public.get_fields("876")
        assert [s.code for s in f876.subfields] == ["a", "z"]
        assert public["245"]["a"].startswith("Sách có dữ liệu nội bộ")


@pytest.mark.parametrize("fmt", FORMATS)
def test_cataloguer_gets_the_whole_records(client: FlaskClient, fmt: str) -> None:
    response = client.get(f"/api/export?format={fmt}&library=HNM&internal=1", headers=CATALOGUER)
    assert response.status_code == 200
    assert "internal" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert all(value in text for value in SECRETS.values())
    records = _records(response.data)
    assert set(records) == {"int-7", "plain-1"}
    _check_format(fmt, response.data)
    whole = records["int-7"]
    assert [f.tag for f in public_record(whole).fields] != [f.tag for f in whole.fields]
    # the public download is exactly the whole record less what marc.internal_fields names
    public = _records(client.get(f"/api/export?format={fmt}&library=HNM").data)["int-7"]
    # (leader lengths aside: those are the written record's)
    assert [str(f) for f in public.fields] == [str(f) for f in public_record(whole).fields]


def test_plain_records_are_byte_identical_in_both(client: FlaskClient) -> None:
    public = _records(client.get("/api/export?library=HNM").data)["plain-1"]
    whole = _records(client.get("/api/export?library=HNM&internal=1", headers=CATALOGUER).data)[
        "plain-1"
    ]
    assert public.as_marc() == whole.as_marc() == record_to_iso2709(book("plain-1", "Sách"))


def test_internal_export_refusals(client: FlaskClient) -> None:
    assert client.get("/api/export?internal=1&library=HNM").status_code == 401
    assert client.get("/api/export?internal=1").status_code == 401
    ply = {"X-Test-User": "bo;roles=cataloguer;libraries=PLY", "Authorization": "Bearer t"}
    refused = client.get("/api/export?internal=1&library=HNM", headers=ply)
    assert refused.status_code == 403 and refused.is_json
    reader = {"X-Test-User": "cu;roles=;libraries=", "Authorization": "Bearer t"}
    assert client.get("/api/export?internal=1", headers=reader).status_code == 403
    assert client.get("/api/export?internal=0", headers=reader).status_code == 200
    admin = {"X-Test-User": "root;roles=admin;libraries=", "Authorization": "Bearer t"}
    everything = client.get("/api/export?internal=1", headers=admin)
    assert everything.status_code == 200 and SECRETS["952"].encode() in everything.data


def test_public_field_keeps_what_is_public() -> None:
    f = pymarc.Field("852", pymarc.Indicators(" ", " "), [pymarc.Subfield("p", "B1")])
    assert public_field(f) is None  # nothing public left: the field goes
    f245 = pymarc.Field("245", pymarc.Indicators("1", "0"), [pymarc.Subfield("a", "T")])
    assert public_field(f245) is f245
    assert public_field(pymarc.Field("999", pymarc.Indicators(" ", " "), [])) is None


def test_cli_export_is_whole_unless_public(client: FlaskClient, app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    whole, public = tmp_path / "whole.mrc", tmp_path / "public.mrc"
    assert runner.invoke(args=["libext", "export", "-o", str(whole)]).exit_code == 0
    result = runner.invoke(args=["libext", "export", "--public", "-o", str(public)])
    assert result.exit_code == 0, result.output
    assert all(v.encode() in whole.read_bytes() for v in SECRETS.values())
    assert not any(v.encode() in public.read_bytes() for v in SECRETS.values())
    assert set(_records(public.read_bytes())) == {"int-7", "plain-1"}


def _stamps(app: Flask) -> tuple[datetime, datetime]:
    """The oldest stored datestamp to the second, and the second after the newest (naive UTC)."""
    with app.app_context():
        session = app.extensions["libext"].db.session
        oldest, newest = session.execute(
            select(func.min(Record.datestamp), func.max(Record.datestamp))
        ).one()
    return oldest.replace(microsecond=0), newest.replace(microsecond=0) + timedelta(seconds=1)


def test_since_converts_an_offset_to_utc(client: FlaskClient, app: Flask) -> None:
    oldest, after = _stamps(app)
    hanoi, west = timezone(timedelta(hours=7)), timezone(timedelta(hours=-7))
    for since, expected in [
        (oldest.isoformat() + "Z", 2),
        (after.isoformat() + "Z", 0),
        (oldest.replace(tzinfo=UTC).astimezone(hanoi).isoformat(), 2),  # 7 hours later, +07:00
        (after.replace(tzinfo=UTC).astimezone(hanoi).isoformat(), 0),
        (after.replace(tzinfo=UTC).astimezone(west).isoformat(), 0),
        (oldest.isoformat(), 2),  # no offset: UTC, as stored
    ]:
        response = client.get("/api/export", query_string={"library": "HNM", "since": since})
        assert response.status_code == 200, since
        assert response.data.count(b"\x1d") == expected, since
    # "+07:00" typed into a URL by hand arrives as " 07:00" ("+" decodes as a space)
    typed = after.replace(tzinfo=UTC).astimezone(hanoi).isoformat()
    response = client.get(f"/api/export?library=HNM&since={typed}")
    assert response.status_code == 200 and response.data == b""


def test_parse_since() -> None:
    assert parse_since("2026-11-27") == datetime(2026, 11, 27)
    assert parse_since("2026-11-27T13:43:38+07:00") == datetime(2026, 11, 27, 6, 43, 38)
    assert parse_since("2026-11-27T13:43:38 07:00") == datetime(2026, 11, 27, 6, 43, 38)
    assert parse_since("2026-11-27 06:43:38z") == datetime(2026, 11, 27, 6, 43, 38)
    assert parse_since("2026-11-27T00:30-01:00") == datetime(2026, 11, 27, 1, 30)
    for bad in (
        "yesterday",
        "",
        "2026-13-01",
        "2026-11-27T13:43:38+25:00",
        "0001-01-01T00:00:00+07:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-07:00",
    ):
        with pytest.raises(ValueError):
            parse_since(bad)


ADMIN = {"X-Test-User": "root;roles=admin;libraries=", "Authorization": "Bearer t"}


def _record_id(app: Flask, control: str) -> int:
    with app.app_context():
        session = app.extensions["libext"].db.session
        return session.scalar(select(Record.id).where(Record.local_id == control))


@pytest.mark.parametrize("fmt", FORMATS)
def test_include_deleted(client: FlaskClient, app: Flask, fmt: str) -> None:
    deleted = client.delete(f"/api/records/{_record_id(app, 'int-7')}", headers=CATALOGUER)
    assert deleted.status_code == 200
    for headers, internal in [({}, ""), (CATALOGUER, "&internal=1")]:
        for flag, expected in [
            ("", {"plain-1"}),
            ("&include_deleted=0", {"plain-1"}),
            ("&include_deleted=no", {"plain-1"}),
            ("&include_deleted=1", {"int-7", "plain-1"}),
            ("&include_deleted=true", {"int-7", "plain-1"}),
        ]:
            query = f"/api/export?format={fmt}&library=HNM{internal}{flag}"
            response = client.get(query, headers=headers)
            assert response.status_code == 200, query
            records = _records(response.data)
            assert set(records) == expected, query
            assert records["plain-1"].leader[5] == "n"
            if "int-7" not in expected:
                continue
            assert records["int-7"].leader[5] == "d", query  # a deletion says so
            text = response.data.decode("utf-8")
            shown = {name for name, value in SECRETS.items() if value in text}
            # a deleted record's public copy keeps the library's internal data out too
            assert shown == (set(SECRETS) if internal else set()), query


def test_search_result_export(client: FlaskClient, app: Flask) -> None:
    other = record_to_iso2709(book("ply-1", "Sách có dữ liệu nội bộ ở Phủ Lý"))
    response = _upload(client, other, "ply.mrc", library="PLY", headers=ADMIN)
    assert response.status_code == 201
    q = "q=n%E1%BB%99i+b%E1%BB%99"  # "nội bộ"
    for query, headers, expected in [
        (q, {}, {"int-7", "ply-1"}),
        (f"{q}&library=HNM", {}, {"int-7"}),
        (f"{q}&library=PLY", {}, {"ply-1"}),
        ("q=noi+bo", {}, {"int-7", "ply-1"}),  # without diacritics, as readers search
        ("q=sach", {}, {"int-7", "plain-1", "ply-1"}),
        ("q=khong+co+sach+nay+xyzzy", {}, set()),
        (f"{q}&since=2999-01-01", {}, set()),
        # whole records: a cataloguer gets the matches of their own libraries only
        (f"{q}&internal=1", CATALOGUER, {"int-7"}),
        (f"{q}&internal=1&library=HNM", CATALOGUER, {"int-7"}),
        (f"{q}&internal=1", ADMIN, {"int-7", "ply-1"}),
    ]:
        for fmt in ("iso2709", "marcxml"):
            response = client.get(f"/api/export?format={fmt}&{query}", headers=headers)
            assert response.status_code == 200, query
            assert set(_records(response.data)) == expected, (fmt, query)
            internal = "internal=1" in query
            if "int-7" in expected:
                assert (SECRETS["952"].encode() in response.data) is internal, query
            if fmt == "marcxml":
                schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "MARC21slim.xsd")))
                assert schema.validate(etree.fromstring(response.data)), query
    refused = client.get(f"/api/export?{q}&internal=1&library=PLY", headers=CATALOGUER)
    assert refused.status_code == 403
    # a search finds live records: a deleted match is not exported
    client.delete(f"/api/records/{_record_id(app, 'ply-1')}", headers=ADMIN)
    response = client.get(f"/api/export?{q}&include_deleted=1")
    assert set(_records(response.data)) == {"int-7"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_koha_items_are_exported_as_852(client: FlaskClient, fmt: str) -> None:
    koha = koha_book("koha-1", "Truyện Kiều")
    response = _upload(client, record_to_iso2709(koha), "koha.mrc")
    assert response.status_code == 201
    whole = client.get(f"/api/export?format={fmt}&library=HNM&internal=1", headers=CATALOGUER)
    exported = _records(whole.data)["koha-1"]
    assert [str(f) for f in exported.fields] == [str(f) for f in koha_exported(koha).fields]
    if fmt == "iso2709":  # byte-identical, holdings aside
        assert record_to_iso2709(koha_exported(koha)) in whole.data
    public = _records(client.get(f"/api/export?format={fmt}&library=HNM").data)["koha-1"]
    expected = public_record(koha_exported(koha, barcodes=False))
    assert [str(f) for f in public.fields] == [str(f) for f in expected.fields]


def test_a_952_that_describes_no_copy_stays_as_it_is(client: FlaskClient) -> None:
    # Library of Congress records keep a cataloguer's date in 952 $a: not a Koha item
    record = book("lc-1", "Pride and prejudice")
    note = pymarc.Field("952", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", "11/19/97 T")])
    record.add_field(note)
    data = record_to_iso2709(record)
    response = _upload(client, data, "lc.mrc")
    assert response.status_code == 201
    whole = client.get("/api/export?library=HNM&internal=1", headers=CATALOGUER).data
    assert data in whole  # byte-identical: no 852 made up for it
    public = _records(client.get("/api/export?library=HNM").data)["lc-1"]
    assert not public.get_fields("852", "952")
