"""The exporter reads through the host seam: a host ILS's own books export as MARC."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pymarc
import pytest
from flask import Flask
from lxml import etree

from marc.reader import MarcReader
from oai.source import SourceRecord
from tests.host_ils import (
    SAMPLE_BOOKS,
    Book,
    BookSource,
    add_sample_books,
    create_host_app,
    db,
)


def test_host_books_export_as_iso2709_and_json(tmp_path: Path) -> None:
    app = create_host_app(f"sqlite:///{tmp_path / 'host.sqlite3'}")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["libext", "init-db"]).exit_code == 0  # as the host's admin would
    add_sample_books(app)
    out = tmp_path / "host.mrc"
    result = runner.invoke(args=["libext", "export", "--format", "iso2709", "-o", str(out)])
    assert result.exit_code == 0, result.output
    records = list(pymarc.MARCReader(io.BytesIO(out.read_bytes()), to_unicode=True))
    assert [r["245"]["a"] for r in records] == [title for title, *_ in SAMPLE_BOOKS]
    assert records[0]["100"]["a"] == "Nguyễn Du"
    assert records[0]["852"]["h"] == "895.9221 NG-D"  # holdings written as 852

    out_json = tmp_path / "host.json"
    result = runner.invoke(args=["libext", "export", "--format", "json", "-o", str(out_json)])
    assert result.exit_code == 0, result.output
    data = json.loads(out_json.read_text())
    assert len(data) == len(SAMPLE_BOOKS)
    assert {"leader", "fields"} <= set(data[0])


def _host_with_a_big_book(tmp_path: Path) -> tuple[Flask, int]:
    """The host app with its sample books and one whose title (field 245) ISO 2709 cannot
    hold (a field is at most 9,999 bytes)."""
    app = create_host_app(f"sqlite:///{tmp_path / 'host.sqlite3'}")
    assert app.test_cli_runner().invoke(args=["libext", "init-db"]).exit_code == 0
    add_sample_books(app)
    with app.app_context():
        big = Book(title="Địa chí " * 1500, author="Nhiều tác giả", shelfmark="915.97")
        db.session.add(big)
        db.session.commit()
        return app, big.id


def test_the_api_says_which_records_it_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app, big = _host_with_a_big_book(tmp_path)
    client = app.test_client()
    # the download itself: the other records, and at its end a log entry for the server
    with caplog.at_level(logging.WARNING, logger="libext.export"):
        response = client.get("/api/export?format=iso2709")
        assert response.status_code == 200
        records = list(pymarc.MARCReader(io.BytesIO(response.data), to_unicode=True))
    assert [r["001"].data for r in records] == [f"book{i}" for i in range(1, 5)]
    (entry,) = [r for r in caplog.records if r.name == "libext.export"]
    assert f"record book{big}" in entry.getMessage() and "field 245" in entry.getMessage()
    # the report of the same selection, before or after downloading
    report = client.get("/api/export/report?format=iso2709")
    assert report.status_code == 200
    body = report.get_json()
    assert body["format"] == "iso2709" and body["written"] == 4
    ((refused),) = body["refused"]
    assert refused["record"] == f"record book{big}"
    assert "field 245" in refused["reason"] and "bytes" in refused["reason"]
    # MARCXML holds any length: nothing refused there
    assert client.get("/api/export/report?format=marcxml").get_json()["refused"] == []
    # the report takes the export's parameters, and refuses what the export refuses
    assert client.get("/api/export/report?format=pdf").status_code == 400
    assert client.get("/api/export/report?since=soon").status_code == 400
    assert client.get("/api/export/report?internal=1").status_code == 401
    later = client.get("/api/export/report?format=iso2709&since=2999-01-01").get_json()
    assert (later["written"], later["refused"]) == (0, [])
    # the CLI says so too (and exits 1)
    result = app.test_cli_runner().invoke(args=["libext", "export", "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and f"not exported: record book{big}" in result.output


class ForgetfulSource(BookSource):
    """A host that keeps no metadata for withdrawn books."""

    @staticmethod
    def _to_source(book: Book) -> SourceRecord:
        item = BookSource._to_source(book)
        return item.replace(record=None) if book.withdrawn else item


def test_a_marcxml_download_names_its_refusals_in_a_closing_comment(tmp_path: Path) -> None:
    app = create_host_app(f"sqlite:///{tmp_path / 'host.sqlite3'}")
    app.extensions["libext"].record_source_factory = ForgetfulSource
    assert app.test_cli_runner().invoke(args=["libext", "init-db"]).exit_code == 0
    ids = add_sample_books(app)
    with app.app_context():
        db.session.get(Book, ids[1]).withdrawn = True
        db.session.commit()
    client = app.test_client()
    data = client.get("/api/export?format=marcxml&include_deleted=1").data
    assert len(etree.fromstring(data).findall("{http://www.loc.gov/MARC21/slim}record")) == 3
    read = list(MarcReader(io.BytesIO(data)))  # the comment is no record, broken or not
    assert len(read) == 3 and all(r.ok for r in read)
    assert data.endswith(
        f"<!-- Not written: 1 of 4 records.\nrecord {ids[1]}: deleted; no metadata kept\n-->\n"
        "</collection>\n".encode()
    )
    # JSON cannot carry a note: its report says it
    assert len(json.loads(client.get("/api/export?format=json&include_deleted=1").data)) == 3
    report = client.get("/api/export/report?format=json&include_deleted=1").get_json()
    assert report["refused"] == [
        {"record": f"record {ids[1]}", "reason": "deleted; no metadata kept"}
    ]
