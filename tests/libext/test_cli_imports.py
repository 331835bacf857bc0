"""``flask libext import|export|imports``: the JSON report, exit statuses, export formats."""

from __future__ import annotations

import json
from datetime import UTC, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from lxml import etree
from sqlalchemy import select

from libext.models import Holding, Library, Record
from marc.reader import MarcReader
from marc.writer import record_to_iso2709
from tests.libext.marc_files import book, koha_book, koha_exported, write_iso
from tests.marc.helpers import run_yaz
from tests.marc.test_formats import damaged_gzip
from tests.paths import MARC_DIR, XSD_DIR


@pytest.fixture
def cli(app: Flask, runner: FlaskCliRunner) -> FlaskCliRunner:
    assert (
        runner.invoke(args=["libext", "library", "add", "HNM", "--name", "Hà Nam"]).exit_code == 0
    )
    return runner


def _import(cli: FlaskCliRunner, *args: str):  # type: ignore[no-untyped-def]
    return cli.invoke(args=["libext", "import", *args])


def test_json_report_and_exit_0(cli: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_iso(tmp_path / "ok.mrc", [book("c1", "Một"), book("c2", "Hai")])
    result = _import(cli, str(path), "--library", "HNM", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {"batch", "read", "created", "updated", "skipped", "rejected", "errors"} <= set(report)
    assert (report["read"], report["created"], report["errors"]) == (2, 2, [])


def test_rejects_give_exit_1_with_positions(cli: FlaskCliRunner) -> None:
    path = MARC_DIR / "marc4j__pride-and-prejudice-with-many-errors.mrc"
    result = _import(cli, str(path), "--library", "HNM", "--json", "--match", "001")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert (
        report["read"]
        == report["created"] + report["updated"] + report["skipped"] + report["rejected"]
    )
    error = report["errors"][0]
    assert set(error) == {"ordinal", "offset", "control_number", "reason"}
    assert isinstance(error["offset"], int) and error["reason"]


@pytest.mark.parametrize(
    "args",
    [
        ["--library", "NOPE"],
        ["--library", "HNM", "--on-match", "explode"],
        ["--library", "HNM", "--encoding", "klingon"],
        ["--library", "HNM", "--match", "title"],
        ["--library", "HNM", "--format", "pdf"],
    ],
)
def test_unusable_arguments_exit_2(cli: FlaskCliRunner, tmp_path: Path, args: list[str]) -> None:
    path = write_iso(tmp_path / "ok.mrc", [book("c1", "Một")])
    result = _import(cli, str(path), *args, "--json")
    assert result.exit_code == 2


def test_unreadable_file_exits_2(cli: FlaskCliRunner, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not MARC\n")
    result = _import(cli, str(notes), "--library", "HNM", "--json")
    assert result.exit_code == 2
    assert "not in a MARC format" in result.output
    assert _import(cli, str(tmp_path / "missing.mrc"), "--library", "HNM").exit_code == 2


def test_dry_run_then_import_then_revert(cli: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_iso(tmp_path / "ok.mrc", [book("c1", "Một")])
    dry = json.loads(_import(cli, str(path), "--library", "HNM", "--dry-run", "--json").output)
    assert dry["dry_run"] and dry["created"] == 1 and dry["batch"] is None
    real = json.loads(_import(cli, str(path), "--library", "HNM", "--json").output)
    listed = json.loads(cli.invoke(args=["libext", "imports", "list", "--json"]).output)
    assert [b["batch"] for b in listed["batches"]] == [real["batch"]]
    reverted = cli.invoke(args=["libext", "imports", "revert", str(real["batch"]), "--json"])
    assert reverted.exit_code == 0 and json.loads(reverted.output)["removed"] == 1
    assert cli.invoke(args=["libext", "imports", "revert", str(real["batch"])]).exit_code == 2


def test_a_gzip_file_damaged_part_way_keeps_what_was_read(
    cli: FlaskCliRunner, tmp_path: Path
) -> None:
    """Exit 2 with a sentence (no traceback, no "Aborted!"); the records before the damage
    are in a failed batch that says so, and can be reverted."""
    path = damaged_gzip(tmp_path, "truncated")
    result = _import(cli, str(path), "--library", "HNM", "--json", "--batch-size", "100")
    assert result.exit_code == 2, result.output
    error = json.loads(result.output)["error"]
    assert "is damaged after" in error and "Compressed file ended" in error
    listed = json.loads(cli.invoke(args=["libext", "imports", "list", "--json"]).output)
    (batch,) = listed["batches"]
    assert batch["status"] == "failed" and batch["read"] > 0
    assert f"Batch {batch['batch']} keeps what the records before that point did" in error
    assert f"(created {batch['created']:,}, updated 0, rejected 0)" in error
    reverted = cli.invoke(args=["libext", "imports", "revert", str(batch["batch"]), "--json"])
    assert json.loads(reverted.output)["removed"] == batch["read"] == batch["created"]


def test_warnings_are_shown_by_the_import_and_kept_with_its_batch(
    cli: FlaskCliRunner, tmp_path: Path
) -> None:
    """A leader/09 that lies: the summary of the import says so, and so does ``imports show``
    of its batch later, as text and as JSON."""
    from tests.marc.helpers import data_field, make_iso

    path = tmp_path / "lie.mrc"
    path.write_bytes(
        make_iso(
            [("001", b"lie1"), ("245", data_field("10", ("a", "Việt".encode())))], leader09=" "
        )
    )
    result = _import(cli, str(path), "--library", "HNM")
    assert result.exit_code == 0, result.output
    assert "1 record(s) read with warnings:" in result.output
    assert "record 1@0 [lie1]: leader/09 says MARC-8" in result.output
    batch = json.loads(cli.invoke(args=["libext", "imports", "list", "--json"]).output)
    batch_id = str(batch["batches"][0]["batch"])
    shown = cli.invoke(args=["libext", "imports", "show", batch_id])
    assert "record 1@0 [lie1]: leader/09 says MARC-8" in shown.output
    assert "Status done; on match replace" in shown.output
    data = json.loads(cli.invoke(args=["libext", "imports", "show", batch_id, "--json"]).output)
    assert data["record_warnings"][0]["control_number"] == "lie1" and data["created"] == 1


@pytest.mark.parametrize("fmt", ["iso2709", "marcxml", "json", "mrk"])
def test_export_formats(cli: FlaskCliRunner, tmp_path: Path, fmt: str) -> None:
    _import(cli, str(MARC_DIR / "marc4j__brkrtest_UTF8.mrc"), "--library", "HNM", "--match", "001")
    out = tmp_path / f"out.{fmt}"
    result = cli.invoke(
        args=["libext", "export", "--format", fmt, "--library", "HNM", "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["written"] == 8
    assert len([r for r in MarcReader(out) if r.ok]) == 8
    if fmt == "iso2709":
        checked = run_yaz("-n", str(out))
        assert checked.returncode == 0 and checked.stderr == b""
    if fmt == "marcxml":
        schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "MARC21slim.xsd")))
        assert schema.validate(etree.parse(str(out)))


def test_export_to_stdout_and_filters(cli: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_iso(tmp_path / "ok.mrc", [book("c1", "Một"), book("c2", "Hai")])
    _import(cli, str(path), "--library", "HNM")
    _import(
        cli, str(write_iso(tmp_path / "d.mrc", [book("c2", "Hai", status="d")])), "--library", "HNM"
    )
    plain = cli.invoke(args=["libext", "export"])
    assert plain.exit_code == 0 and plain.stdout_bytes.count(b"\x1d") == 1
    withdeleted = cli.invoke(args=["libext", "export", "--include-deleted", "--format", "mrk"])
    assert withdeleted.stdout_bytes.count(b"=LDR") == 2
    assert b"=LDR  00" in withdeleted.stdout_bytes and b"dam\\a22" in withdeleted.stdout_bytes
    assert cli.invoke(args=["libext", "export", "--since", "soon"]).exit_code == 2
    none = cli.invoke(args=["libext", "export", "--since", "2999-01-01"])
    assert none.exit_code == 0 and none.stdout_bytes == b""


def test_export_a_search_result(cli: FlaskCliRunner, tmp_path: Path) -> None:
    path = write_iso(tmp_path / "ok.mrc", [book("q1", "Truyện Kiều"), book("q2", "Lịch sử Hà Nam")])
    _import(cli, str(path), "--library", "HNM")
    result = cli.invoke(args=["libext", "export", "--query", "truyen kieu", "--format", "mrk"])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes.count(b"=LDR") == 1
    assert "Truyện Kiều".encode() in result.stdout_bytes


def test_export_since_converts_an_offset_to_utc(
    cli: FlaskCliRunner, app: Flask, tmp_path: Path
) -> None:
    _import(cli, str(write_iso(tmp_path / "ok.mrc", [book("c1", "Một")])), "--library", "HNM")
    with app.app_context():
        stamp = app.extensions["libext"].db.session.scalar(select(Record.datestamp))
    second = stamp.replace(microsecond=0, tzinfo=UTC)
    hanoi = timezone(timedelta(hours=7))
    for since, expected in [
        (second.astimezone(hanoi).isoformat(), 1),
        ((second + timedelta(seconds=1)).astimezone(hanoi).isoformat(), 0),
        ((second + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=-7))).isoformat(), 0),
        (second.strftime("%Y-%m-%dT%H:%M:%SZ"), 1),
    ]:
        result = cli.invoke(args=["libext", "export", "--since", since])
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes.count(b"\x1d") == expected, since


@pytest.mark.parametrize("fmt", ["iso2709", "marcxml", "json", "mrk"])
def test_export_writes_koha_items_as_852(cli: FlaskCliRunner, tmp_path: Path, fmt: str) -> None:
    koha, plain = koha_book("k1", "Truyện Kiều"), book("p1", "Sách")
    _import(cli, str(write_iso(tmp_path / "koha.mrc", [koha, plain])), "--library", "HNM")
    for args, expected in [([], koha_exported(koha)), (["--public"], None)]:
        out = tmp_path / f"out-{len(args)}.{fmt}"
        result = cli.invoke(args=["libext", "export", "--format", fmt, "-o", str(out), *args])
        assert result.exit_code == 0, result.output
        records = {r.control_number: r for r in MarcReader(out) if r.ok}
        exported = records["k1"].record
        if expected is None:  # the public copy: no barcodes, no local 9XX fields
            copies = koha_exported(koha, barcodes=False).get_fields("852")
            assert [str(f) for f in exported.get_fields("852")] == [str(f) for f in copies]
            assert not [f for f in exported.fields if f.tag.startswith("9")]
            continue
        assert [str(f) for f in exported.fields] == [str(f) for f in expected.fields]
        if fmt == "iso2709":  # byte-identical, holdings aside
            assert records["k1"].raw == record_to_iso2709(expected)
            assert records["p1"].raw == record_to_iso2709(plain)


def test_koha_items_exported_as_852_import_back_as_the_same_copies(
    cli: FlaskCliRunner, app: Flask, tmp_path: Path
) -> None:
    _import(
        cli, str(write_iso(tmp_path / "koha.mrc", [koha_book("k1", "Một")])), "--library", "HNM"
    )
    out = tmp_path / "out.mrc"
    assert cli.invoke(args=["libext", "export", "-o", str(out)]).exit_code == 0
    assert cli.invoke(args=["libext", "library", "add", "PLY", "--name", "Phủ Lý"]).exit_code == 0
    assert _import(cli, str(out), "--library", "PLY").exit_code == 0
    with app.app_context():
        session = app.extensions["libext"].db.session
        copies = session.execute(
            select(Library.code, Holding.barcode, Holding.call_number, Holding.location)
            .join(Holding.record)
            .join(Library, Library.id == Record.library_id)
            .order_by(Holding.id)
        ).all()
    hnm = [tuple(row[1:]) for row in copies if row[0] == "HNM"]
    ply = [tuple(row[1:]) for row in copies if row[0] == "PLY"]
    assert len(hnm) == 2 and ply == hnm  # neither lost nor doubled
