"""The import pipeline on SQLite and PostgreSQL: every shared file, matching, overlay,
deletions, revert, dry run, idempotency, and round trips through export."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pymarc
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from libext.exporter import export
from libext.importer import ImportOptions, RevertError, rejects, revert_batch, run_import
from libext.imports_web import batch_report
from libext.models import Holding, ImportBatch, ImportOutcome, Library, MatchKey, Record
from marc.errors import UnusableInput
from marc.reader import MarcReader, decode_iso2709
from marc.writer import MarcWriter, record_to_iso2709
from tests.libext.marc_files import book, many, write_iso
from tests.marc.helpers import run_yaz
from tests.paths import MARC_DIR


@pytest.fixture
def ctx(app: Flask):  # type: ignore[no-untyped-def]
    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        session.add(Library(code="HNM", name="Thư viện tỉnh Hà Nam"))
        session.add(Library(code="PLY", name="Thư viện thành phố Phủ Lý"))
        session.commit()
        yield state


def _lib(state, code: str = "HNM") -> Library:  # type: ignore[no-untyped-def]
    return state.db.session.scalar(select(Library).where(Library.code == code))


def _import(state, path, **options):  # type: ignore[no-untyped-def]
    library = _lib(state, options.pop("library", "HNM"))
    return run_import(state.store(), library, path, ImportOptions(**options))


def _live(state) -> int:  # type: ignore[no-untyped-def]
    session = state.db.session
    return session.scalar(select(func.count(Record.id)).where(Record.deleted.is_(False)))


SHARED = sorted(p for p in MARC_DIR.iterdir() if p.name != "SOURCES.txt")


COUNTS = ("read", "created", "updated", "skipped", "rejected", "deleted")


def test_every_shared_file_goes_through_the_importer(ctx) -> None:  # type: ignore[no-untyped-def]
    """...and its dry run, just before, says exactly what the import then does."""
    unusable = 0
    for path in SHARED:
        try:
            dry = _import(ctx, path, dry_run=True, batch_size=7)
            report = _import(ctx, path, batch_size=7)
        except UnusableInput as exc:
            assert path.name in str(exc)
            unusable += 1
            continue
        d = report.to_dict()
        assert {k: dry.to_dict()[k] for k in COUNTS} == {k: d[k] for k in COUNTS}, path.name
        assert d["read"] == d["created"] + d["updated"] + d["skipped"] + d["rejected"], path.name
        assert len(d["errors"]) == d["rejected"], path.name
        assert all(e["reason"] for e in d["errors"])
        batch = ctx.db.session.get(ImportBatch, report.batch)
        assert batch.status == "done" and batch.read == d["read"]
        outcomes = ctx.db.session.scalar(
            select(func.count(ImportOutcome.id)).where(ImportOutcome.batch_id == batch.id)
        )
        assert outcomes == d["read"]
    assert unusable <= 3
    assert _live(ctx) > 400


def test_valid_utf8_records_export_byte_identical(ctx) -> None:  # type: ignore[no-untyped-def]
    path = MARC_DIR / "marc4j__pride-and-prejudice-fixed.mrc"
    report = _import(ctx, path, match=("001",))
    assert report.rejected < report.read
    # the file repeats some 001s: the last copy is the one stored
    last: dict[str, tuple[bytes, bool]] = {}
    for r in MarcReader(path):
        if r.ok:
            last[r.control_number] = (r.raw, r.marc == r.raw)
    expected = {cn: raw for cn, (raw, canonical) in last.items() if canonical}
    assert len(expected) > 200
    out = io.BytesIO()
    export(ctx.record_source(), out, "iso2709", library="HNM")
    exported = {}
    for chunk in out.getvalue().split(b"\x1d")[:-1]:
        item = decode_iso2709(chunk + b"\x1d", forced="utf-8")
        control = item.record.get("001")
        exported[control.data.strip() if control else None] = chunk + b"\x1d"
    assert len(exported) == len(last)
    assert {cn: exported[cn] for cn in expected} == expected


def test_marc8_import_exports_what_yaz_converts(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = MARC_DIR / "marc4j__brkrtest.mrc"
    report = _import(ctx, path, match=("001",))  # its test records share one ISBN
    assert report.created == 8 and report.rejected == 0
    out = io.BytesIO()
    export(ctx.record_source(), out, "iso2709", library="HNM")
    ours = tmp_path / "ours.mrc"
    ours.write_bytes(out.getvalue())
    checked = run_yaz("-n", str(ours))
    assert checked.returncode == 0 and checked.stderr == b""
    theirs = run_yaz("-f", "MARC-8", "-t", "UTF-8", "-o", "marc", str(path)).stdout

    def fields(data: bytes) -> dict[str, list]:
        found = {}
        for chunk in data.split(b"\x1d")[:-1]:
            record = decode_iso2709(chunk + b"\x1d", forced="utf-8").record
            found[record["001"].data] = [
                (f.tag, unicodedata.normalize("NFC", f.value())) for f in record.fields
            ]
        return found

    assert fields(out.getvalue()) == fields(theirs)


def test_reimport_is_idempotent(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_iso(tmp_path / "books.mrc", many(50))
    first = _import(ctx, path)
    assert (first.created, first.updated, first.rejected) == (50, 0, 0)
    session = ctx.db.session
    stamps = dict(session.execute(select(Record.id, Record.datestamp)).all())
    second = _import(ctx, path)
    assert (second.created, second.updated, second.skipped) == (0, 0, 50)
    assert dict(session.execute(select(Record.id, Record.datestamp)).all()) == stamps
    assert session.scalar(select(func.count(Holding.id))) == 50


@pytest.mark.parametrize(
    ("rule", "incoming"),
    [
        ("035", {"system": "(OCoLC)12345"}),
        ("isbn", {"isbn": "0-306-40615-2 (pbk.)"}),  # ISBN-10 matches the stored ISBN-13
        ("issn", {"issn": "0317-8471"}),
    ],
)
def test_matching_rules(ctx, tmp_path: Path, rule: str, incoming: dict) -> None:  # type: ignore[no-untyped-def]
    stored = book(
        "local1", "Old title", system="(OCoLC)12345", isbn="9780306406157", issn="0317-8471"
    )
    _import(ctx, write_iso(tmp_path / "a.mrc", [stored]))
    newer = book("vendor9", "New title", org="OCoLC", **incoming)
    report = _import(ctx, write_iso(tmp_path / "b.mrc", [newer]), match=(rule,))
    assert report.updated == 1 and report.created == 0
    assert report.examples["updated"][0]["matched_by"] == rule
    titles = ctx.db.session.scalars(select(Record.title)).all()
    assert len(titles) == 1 and titles[0].startswith("New title")


def test_001_with_another_003_is_not_a_match(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(ctx, write_iso(tmp_path / "a.mrc", [book("123", "Ours", org="VN-HNM")]))
    report = _import(ctx, write_iso(tmp_path / "b.mrc", [book("123", "Theirs", org="DLC")]))
    assert report.created == 1
    assert _live(ctx) == 2


def test_records_of_one_catalogue_sharing_an_isbn_stay_apart(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two 001s of one numbering are two records, whatever ISBN they share (the volumes of a
    set carry the set's ISBN): neither overlays the other, in one file or across imports."""
    volumes = [book(f"v{n}", f"Lịch sử Việt Nam, tập {n}", isbn="9786040000002") for n in (1, 2)]
    first = _import(ctx, write_iso(tmp_path / "a.mrc", volumes))
    assert (first.created, first.updated) == (2, 0)
    later = _import(ctx, write_iso(tmp_path / "b.mrc", [book("v3", "tập 3", isbn="9786040000002")]))
    assert (later.created, later.updated) == (1, 0)
    # The same ISBN from another catalogue's numbering is still found (the first of the set).
    vendor = book("999", "Lịch sử Việt Nam", isbn="9786040000002", org="DLC")
    assert _import(ctx, write_iso(tmp_path / "c.mrc", [vendor])).updated == 1
    assert _live(ctx) == 3
    # Without a 003: two records of one file are still two; across imports the keys find
    # the record (a Koha export after the older system's, new 001s, the same 035s).
    loose = [
        book(f"k{n}", f"Tập {n}", isbn="9786042222222", system=f"(OCoLC)7{n}", org=None)
        for n in (1, 2)
    ]
    report = _import(ctx, write_iso(tmp_path / "d.mrc", loose), library="PLY")
    assert (report.created, report.updated) == (2, 0)
    koha = [
        book(f"{n}", f"Tập {n} (Koha)", isbn="9786042222222", system=f"(OCoLC)7{n}", org=None)
        for n in (1, 2)
    ]
    report = _import(ctx, write_iso(tmp_path / "e.mrc", koha), library="PLY")
    assert (report.created, report.updated) == (0, 2)
    titles = ctx.db.session.scalars(
        select(Record.title).join(Library).where(Library.code == "PLY").order_by(Record.id)
    ).all()
    assert titles == ["Tập 1 (Koha)", "Tập 2 (Koha)"]
    # A real export where eight records of one 003 share an ISBN: all eight go in, and a
    # second run finds each by its 001.
    shared = MARC_DIR / "marc4j__brkrtest_UTF8.mrc"
    report = _import(ctx, shared, library="HNM")
    assert (report.created, report.updated, report.rejected) == (8, 0, 0)
    again = _import(ctx, shared, library="HNM")
    assert (again.created, again.updated, again.skipped) == (0, 0, 8)


def test_on_match_actions(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    original = book("m1", "Truyện Kiều", local="Bản của thư viện", barcode="HNM-1")
    _import(ctx, write_iso(tmp_path / "a.mrc", [original]))
    vendor = book("m1", "Truyện Kiều (bản mới)", barcode="VENDOR-9")
    path = write_iso(tmp_path / "b.mrc", [vendor])

    assert _import(ctx, path, on_match="skip").skipped == 1
    merged = _import(ctx, path, on_match="merge")
    assert merged.updated == 1
    session = ctx.db.session
    record = session.scalar(select(Record).where(Record.local_id == "m1"))
    parsed = decode_iso2709(record.marc, forced="utf-8").record
    assert parsed["245"]["a"] == "Truyện Kiều (bản mới)"
    assert parsed["590"]["a"] == "Bản của thư viện"  # local field kept
    assert sorted(h.barcode for h in record.holdings) == ["HNM-1", "VENDOR-9"]

    replaced = _import(ctx, path, on_match="replace")
    assert replaced.updated == 1
    session.refresh(record)
    assert [h.barcode for h in record.holdings] == ["VENDOR-9"]
    assert "Bản của thư viện".encode() not in record.marc

    always = _import(ctx, path, on_match="always-new")
    assert always.created == 1
    assert session.scalar(select(func.count(Record.id))) == 2


def test_a_merge_too_large_for_iso2709_rejects_that_record_only(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Merged with the library's local fields a record would pass 99,999 bytes: it is
    rejected with the reason (its input bytes kept for the rejects file), the library's
    record stays as it was, and the other records of the file go in."""
    ours = book("mg1", "Địa chí Hà Nam")
    for n in range(8):
        note = pymarc.Subfield("a", f"Ghi chú địa phương {n} " + "x" * 8000)
        ours.add_field(pymarc.Field("590", pymarc.Indicators(" ", " "), [note]))
    _import(ctx, write_iso(tmp_path / "a.mrc", [ours]))
    session = ctx.db.session
    before = session.scalar(select(Record.marc).where(Record.local_id == "mg1"))
    theirs = book("mg1", "Địa chí Hà Nam (tái bản)")
    for n in range(5):
        summary = pymarc.Subfield("a", f"Tóm tắt {n} " + "y" * 8000)
        theirs.add_field(pymarc.Field("520", pymarc.Indicators(" ", " "), [summary]))
    path = write_iso(tmp_path / "b.mrc", [theirs, book("ok2", "Sách khác")])
    report = _import(ctx, path, on_match="merge")
    assert (report.read, report.created, report.rejected) == (2, 1, 1)
    (error,) = report.errors
    assert error.ordinal == 1 and "too large for ISO 2709" in error.reason
    assert "on-match replace" in error.reason
    assert session.scalar(select(Record.marc).where(Record.local_id == "mg1")) == before
    batch = session.get(ImportBatch, report.batch)
    assert b"".join(rejects(session, batch)) == record_to_iso2709(theirs)


def test_deletions_by_leader_05(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(ctx, write_iso(tmp_path / "a.mrc", [book("d1", "Gone soon"), book("d2", "Stays")]))
    deletions = [book("d1", "Gone soon", status="d"), book("zz", "Never had it", status="d")]
    report = _import(ctx, write_iso(tmp_path / "b.mrc", deletions))
    assert (report.updated, report.deleted, report.skipped) == (1, 1, 1)
    assert "not in this library" in report.examples["skipped"][0]["reason"]
    record = ctx.db.session.scalar(select(Record).where(Record.local_id == "d1"))
    assert record.deleted  # kept for OAI as a deletion


def test_revert_restores_the_catalogue(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(ctx, write_iso(tmp_path / "a.mrc", [book("r1", "Original", barcode="X1")]))
    session = ctx.db.session
    before = session.scalar(select(Record).where(Record.local_id == "r1")).marc
    batch_file = write_iso(
        tmp_path / "b.mrc",
        [book("r1", "Overlaid", barcode="X2"), book("r2", "Brand new"), book("r1x", "New too")],
    )
    report = _import(ctx, batch_file)
    assert (report.created, report.updated) == (2, 1)
    batch = session.get(ImportBatch, report.batch)
    result = revert_batch(ctx.store(), batch)
    assert (result.removed, result.restored) == (2, 1)
    record = session.scalar(select(Record).where(Record.local_id == "r1"))
    assert record.marc == before and [h.barcode for h in record.holdings] == ["X1"]
    assert _live(ctx) == 1
    with pytest.raises(RevertError):
        revert_batch(ctx.store(), batch)


def test_dry_run_writes_nothing(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(ctx, write_iso(tmp_path / "a.mrc", [book("x1", "Here")]))
    path = write_iso(tmp_path / "b.mrc", [book("x1", "Here, changed"), book("x2", "New")])
    report = _import(ctx, path, dry_run=True)
    assert (report.created, report.updated, report.batch) == (1, 1, None)
    assert report.examples["created"][0]["control_number"] == "x2"
    session = ctx.db.session
    assert session.scalar(select(func.count(Record.id))) == 1
    assert session.scalar(select(func.count(ImportBatch.id))) == 1


@pytest.mark.parametrize("batch_size", [1, 500])
def test_a_dry_run_sees_the_records_before_it_in_its_file(
    ctx,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    batch_size: int,
) -> None:
    """A record met twice, changed, deleted, revived; records without a 001: the dry run
    counts each as the import then does, across chunks (one record each) and within one."""
    stored = [book("s1", "Đã có"), book("s2", "Cũng có"), book("s3", "Ba", isbn="9786043333333")]
    _import(ctx, write_iso(tmp_path / "a.mrc", stored))
    no_001 = book("", "Không số", isbn="9786040000002")
    no_001.remove_fields("001")
    records = [
        book("n1", "Mới"),
        book("n1", "Mới"),  # the same again: unchanged
        book("n1", "Mới, sửa"),  # changed
        book("n1", "Mới, sửa", status="d"),  # deleted
        book("n1", "Mới, sửa"),  # back again
        book("s1", "Đã có, sửa"),
        book("s1", "Đã có, sửa"),  # the stored record as the file left it: unchanged
        book("s2", "Cũng có", status="d"),
        book("s2", "Cũng có", status="d"),  # already deleted by the file
        no_001,
        no_001,  # the same record without a 001: saved over the first
        book("v1", "Tập 1", isbn="9786041111111"),
        book("v2", "Tập 2", isbn="9786041111111"),  # one catalogue's two records
        book("x1", "Bản khác", isbn="9786041111111", org="DLC"),  # by ISBN: v1
        book("s3", "Ba", isbn="9786044444444"),  # s3 gives its ISBN up...
        book("w1", "Khác", isbn="9786043333333", org="DLC"),  # ...so this one is new
    ]
    path = write_iso(tmp_path / "b.mrc", records)
    session = ctx.db.session
    runs = []
    # merge runs after the revert of the first: over records it withdrew (kept as deleted)
    for on_match in ("replace", "merge"):
        count = session.scalar(select(func.count(Record.id)))
        dry = _import(ctx, path, dry_run=True, batch_size=batch_size, on_match=on_match)
        assert session.scalar(select(func.count(Record.id))) == count
        real = _import(ctx, path, batch_size=batch_size, on_match=on_match)
        assert {k: dry.to_dict()[k] for k in COUNTS} == {k: real.to_dict()[k] for k in COUNTS}
        assert dry.examples.keys() == real.examples.keys()
        revert_batch(ctx.store(), session.get(ImportBatch, real.batch))
        runs.append(real)
    # n1, the record without a 001, v1, v2 and w1 (x1's 003 differs from v1's: its ISBN finds
    # v1), whether s3's change and w1 are in one chunk or not
    assert (runs[0].created, runs[0].deleted) == (5, 2)


def test_rejects_download_in_input_format(ctx) -> None:  # type: ignore[no-untyped-def]
    report = _import(ctx, MARC_DIR / "rubymarc__three-records-second-bad.xml")
    assert report.rejected == 1
    batch = ctx.db.session.get(ImportBatch, report.batch)
    data = b"".join(rejects(ctx.db.session, batch))
    assert data.startswith(b"<?xml") and data.count(b"<record") == 1


def test_broken_marcxml_loses_no_record(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """yaz-marcdump's MARCXML of pymarc__test.dat with one </subfield> removed in record 2
    once made records 3-10 vanish (read 2, rejected 1): all ten are accounted for now."""
    done = run_yaz("-o", "marcxml", str(MARC_DIR / "pymarc__test.dat"))
    assert done.returncode == 0
    data = done.stdout
    second = data.index(b"<record", data.index(b"<record") + 1)
    at = data.index(b"</subfield>", second)
    path = tmp_path / "broken.xml"
    path.write_bytes(data[:at] + data[at + len(b"</subfield>") :])
    report = _import(ctx, path).to_dict()
    assert report["read"] == 10 and report["rejected"] == 1
    assert report["created"] + report["updated"] + report["skipped"] == 9
    (error,) = report["errors"]
    assert (error["ordinal"], error["offset"]) == (2, second)
    assert error["control_number"] == "fol05754809"
    line = data.count(b"\n", 0, at) + 1
    assert error["reason"] == (
        f"malformed XML: <subfield> opened on line {line} is not closed before </datafield> "
        f"(line {line + 1}, column 15)"
    )


def test_marcxml_rejection_says_the_line_of_the_record(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A well-formed record rejected by validation: its line is named beside its offset."""
    no_title = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    no_title.add_field(pymarc.Field(tag="001", data="t1"))
    out = io.BytesIO()
    with MarcWriter(out, "marcxml") as writer:
        writer.write(book("x1", "Here"))
        writer.write(no_title)
    path = tmp_path / "one-bad.xml"
    path.write_bytes(out.getvalue())
    report = _import(ctx, path).to_dict()
    (error,) = report["errors"]
    assert error["offset"] == out.getvalue().index(b"<record", out.getvalue().index(b"<record") + 1)
    assert error["reason"].endswith("(record at line 4)")


def test_match_keys_follow_writes(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _import(ctx, write_iso(tmp_path / "a.mrc", [book("k1", "T", isbn="9786042083553")]))
    session = ctx.db.session
    keys = session.execute(select(MatchKey.kind, MatchKey.value)).all()
    assert ("isbn", "9786042083553") in keys
    _import(ctx, write_iso(tmp_path / "b.mrc", [book("k1", "T", isbn="9780306406157")]))
    keys = session.execute(select(MatchKey.kind, MatchKey.value)).all()
    assert ("isbn", "9786042083553") not in keys and ("isbn", "9780306406157") in keys


def test_prepared_match_keys_are_those_read_back(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Keys worked out where records are read (the store's preparer) equal the keys the hook
    works out by reading the stored records back."""
    from libext.matching import refresh_match_keys

    records = []
    for n in range(3):
        rec = book(f"p{n}", f"Sách {n}", isbn=f"0-306-40615-{7 if n == 0 else n}")
        rec.add_field(
            pymarc.Field("035", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", f"(OCoLC){n}")])
        )
        rec.add_field(
            pymarc.Field("022", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", "0317-8471")])
        )
        records.append(rec)
    _import(ctx, write_iso(tmp_path / "k.mrc", records))
    session = ctx.db.session
    query = select(MatchKey.record_id, MatchKey.kind, MatchKey.value).order_by(MatchKey.id)

    def keys() -> list[tuple[int, str, str]]:
        return sorted(tuple(row) for row in session.execute(query))

    prepared = keys()
    assert {kind for _, kind, _ in prepared} == {"035", "isbn", "issn"}
    assert (prepared[0][0], "isbn", "9780306406157") in prepared
    refresh_match_keys(session, sorted({rid for rid, _, _ in prepared}), [])
    session.commit()
    assert keys() == prepared


def test_holdings_from_koha_952_and_852(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    koha = book("k952", "Koha item record")
    koha.add_field(
        pymarc.Field(
            "952",
            pymarc.Indicators(" ", " "),
            [
                pymarc.Subfield("a", "PLY"),
                pymarc.Subfield("o", "895.92 NG"),
                pymarc.Subfield("p", "PLY000123"),
                pymarc.Subfield("7", "1"),
            ],
        )
    )
    report = _import(
        ctx,
        write_iso(tmp_path / "koha.mrc", [koha, book("k852", "T", barcode="Z9")]),
        library="PLY",
    )
    assert report.created == 2
    session = ctx.db.session
    holdings = {h.barcode: h for h in session.scalars(select(Holding))}
    assert holdings["PLY000123"].call_number == "895.92 NG"
    assert holdings["PLY000123"].status == "not for loan"
    assert "Z9" in holdings
    assert all(h.library_id == _lib(ctx, "PLY").id for h in holdings.values())


def test_leader_lies_are_reported_per_record(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.marc.helpers import data_field, make_iso

    data = make_iso(
        [("001", b"lie1"), ("245", data_field("10", ("a", "Tiếng Việt".encode())))], leader09=" "
    )
    path = tmp_path / "lie.mrc"
    path.write_bytes(data)
    report = _import(ctx, path).to_dict()
    assert report["created"] == 1
    (entry,) = report["record_warnings"]
    assert entry["control_number"] == "lie1"
    assert any("leader/09 says MARC-8" in w for w in entry["warnings"])
    record = ctx.db.session.scalar(select(Record))
    assert record.marc[9:10] == b"a" and "Tiếng Việt".encode() in record.marc
    # The batch keeps them: its report later (CLI, API, pages) shows what the run showed.
    kept = batch_report(ctx.db.session, ctx.db.session.get(ImportBatch, report["batch"]))
    assert kept["record_warnings"] == report["record_warnings"]
    assert kept["warnings"] == report["warnings"] >= 1
    assert kept["examples"] == report["examples"]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_damaged_file_costs_only_its_broken_record(ctx, tmp_path: Path, workers: int) -> None:  # type: ignore[no-untyped-def]
    """Real records of Perl's test data: the first one's 0x1D deleted (the next record used
    to vanish into it, the import saying nothing), the second cut short before the third,
    text after the third. Every record is counted once: read = created + rejected."""
    a, b, c, d = [
        r + b"\x1d" for r in (MARC_DIR / "marcperl__camel.usmarc").read_bytes().split(b"\x1d")[:4]
    ]
    path = tmp_path / "damaged.mrc"
    path.write_bytes(a[:-1] + b[:300] + c + b"JUNK\r\n" + d)
    report = _import(ctx, path, workers=workers).to_dict()
    assert (report["read"], report["created"], report["rejected"]) == (4, 3, 1)
    assert report["errors"] == [
        {
            "ordinal": 2,
            "offset": len(a) - 1,
            "control_number": "fol05754809",
            "reason": "record breaks off where another record begins: the rest of it is missing",
        }
    ]
    warnings = {w["ordinal"]: w["warnings"] for w in report["record_warnings"]}
    assert "record terminator missing; added" in warnings[1]
    at = len(a) - 1 + 300 + len(c)
    assert f"followed by 6 byte(s) that are not MARC data (at byte {at:,}); skipped" in warnings[3]
    stored = {r.control_number for r in ctx.db.session.scalars(select(Record))}
    assert stored == {"fol05731351", "fol05843555", "fol05843579"}


def test_reimport_of_a_record_whose_control_number_holds_a_nul(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A NUL in 001 is removed (with a warning); importing the file again finds the record."""
    path = write_iso(tmp_path / "nul.mrc", [book("hn\x00001", "Truyện Kiều"), book("hn2", "Hai")])
    first = _import(ctx, path)
    assert (first.created, first.rejected) == (2, 0), first
    second = _import(ctx, path)
    assert (second.created, second.rejected, second.read) == (0, 0, 2), second
    assert _live(ctx) == 2
    stored = ctx.db.session.scalars(select(Record.local_id).order_by(Record.local_id)).all()
    assert stored == ["hn001", "hn2"]  # the NUL removed (PostgreSQL text cannot hold one)


def test_a_nul_between_a_letter_and_its_mark_leaves_them_composed(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """ "e", NUL, U+0302 in an NFC file: once the NUL is gone the letter is "ê", one
    character, in the record's local id and match keys as in its stored bytes, so the same
    record written cleanly is found again rather than added twice."""
    nul = book("VN-Le\x00\u0302", "Lê Lợi")
    nul.add_field(pymarc.Field(tag="035", indicators=pymarc.Indicators(" ", " "),
                               subfields=[pymarc.Subfield("a", "(VN)Le\x00\u0302")]))  # fmt: skip
    report = _import(ctx, write_iso(tmp_path / "nul.mrc", [nul]))
    assert (report.created, report.rejected) == (1, 0), report
    session = ctx.db.session
    record = session.scalar(select(Record))
    assert record.local_id == record.control_number == "VN-L\u00ea"
    assert "VN-L\u00ea".encode() in record.marc and b"\x00" not in record.marc
    keys = session.scalars(select(MatchKey.value).where(MatchKey.kind == "035")).all()
    assert keys == ["(VN)L\u00ea"]
    clean = _import(ctx, write_iso(tmp_path / "clean.mrc", [book("VN-L\u00ea", "Lê Lợi")]))
    assert (clean.created, clean.read) == (0, 1), clean
    assert _live(ctx) == 1


def test_sqlite_page_cache_is_bounded_while_importing_and_given_back(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The search's large page cache would fill with the pages a big import writes: each
    transaction of an import caps it (never raises it), and gives it back before committing."""
    session = ctx.db.session
    if session.get_bind().dialect.name != "sqlite":
        report = _import(ctx, write_iso(tmp_path / "a.mrc", many(3)), sqlite_cache_mb=4)
        assert report.created == 3  # the cap is SQLite's only
        return

    def cache_size(on: Session) -> int:
        return int(on.connection().exec_driver_sql("PRAGMA cache_size").scalar())

    before = cache_size(session)
    seen: list[int] = []

    def hook(hook_session, changed, deleted) -> None:  # type: ignore[no-untyped-def]
        seen.append(cache_size(hook_session))

    ctx.after_write.append(hook)
    try:
        report = _import(ctx, write_iso(tmp_path / "a.mrc", many(30)), batch_size=10,
                         sqlite_cache_mb=4)  # fmt: skip
        assert report.created == 30 and seen == [-4096] * 3
        assert cache_size(session) == before != -4096
        seen.clear()  # a cap above the cache leaves it alone
        report = _import(ctx, write_iso(tmp_path / "b.mrc", many(5, "big")), sqlite_cache_mb=4096)
        assert report.created == 5 and seen == [before]
    finally:
        ctx.after_write.remove(hook)


def test_nul_characters_never_reach_the_database(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """NULs in a leader, in a MarcEdit mnemonic ({00}) and in a rejected record's 001: the
    good records go in without them, the bad one is reported, nothing fails (PostgreSQL text
    cannot hold a NUL)."""
    good = book("nul1", "Truyện Kiều").as_marc()
    leader_nul = good[:17] + b"\x00" + good[18:]  # leader/17 (encoding level)
    bad = book("nul\x002", "Hai").as_marc().replace(b"Hai", b"Ha\xffi")  # invalid UTF-8
    iso = tmp_path / "nul.mrc"
    iso.write_bytes(leader_nul + bad)
    report = _import(ctx, iso, encoding="utf-8")
    assert (report.read, report.created, report.rejected) == (2, 1, 1), report
    assert report.errors[0].control_number == "nul\x002"  # reported as read
    mrk = tmp_path / "nul.mrk"
    mrk.write_text("=LDR  00000nam a2200000 a 4500\n=001  nul3{00}\n"
                   "=245  10$aBa{00} /$cNguyễn Du\n\n", encoding="utf-8")  # fmt: skip
    report = _import(ctx, mrk)
    assert (report.read, report.created, report.rejected) == (1, 1, 0), report
    session = ctx.db.session
    rows = session.execute(select(Record.local_id, Record.leader, Record.marc)).all()
    assert sorted(r.local_id for r in rows) == ["nul1", "nul3"]
    assert all("\x00" not in r.leader and b"\x00" not in r.marc for r in rows)
