"""Writers: ISO 2709 that yaz-marcdump accepts, size limits, MARCXML valid against the
MARC 21 slim schema, MARC-in-JSON pymarc reads, .mrk round trips."""

from __future__ import annotations

import io
import json

import pymarc
import pytest
from lxml import etree

from marc.errors import RecordTooLarge
from marc.reader import MarcReader
from marc.writer import MarcWriter, record_to_iso2709, write_records
from tests.marc.helpers import run_yaz, simple_record
from tests.paths import MARC_DIR, XSD_DIR

SAMPLES = [
    "marc4j__pride-and-prejudice-fixed.mrc",
    "marc4j__brkrtest.mrc",
    "pymarc__batch.json",
    "marcperl__batch.xml",
    "marcperl__camel.mrk",
]


def _records(name: str) -> list[pymarc.Record]:
    return [r.record for r in MarcReader(MARC_DIR / name) if r.ok]


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / "MARC21slim.xsd")))


@pytest.mark.parametrize("name", SAMPLES)
def test_iso2709_output_is_read_by_yaz_without_complaint(tmp_path, name: str) -> None:
    records = _records(name)
    out = io.BytesIO()
    writer = write_records(records, out, "iso2709")
    assert writer.written == len(records) and not writer.refused
    path = tmp_path / "out.mrc"
    path.write_bytes(out.getvalue())
    done = run_yaz("-n", str(path))
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    listing = run_yaz(str(path)).stdout.decode("utf-8")
    assert listing.count("\n\n") >= len(records) - 1
    # and reads back to the same records
    again = [r.record for r in MarcReader(path)]
    assert [str(r) for r in again] == [str(r) for r in records]


def test_record_over_99999_bytes_is_refused_not_corrupted() -> None:
    record = simple_record("big")
    for _ in range(12):
        record.add_field(
            pymarc.Field(
                tag="505",
                indicators=pymarc.Indicators("0", " "),
                subfields=[pymarc.Subfield("a", "x" * 9000)],
            )
        )
    with pytest.raises(RecordTooLarge, match="99,999"):
        record_to_iso2709(record)
    out = io.BytesIO()
    writer = MarcWriter(out, "iso2709")
    assert writer.write(simple_record("small")) is True
    assert writer.write(record) is False
    writer.close()
    assert writer.written == 1
    assert writer.refused and "record big" in writer.refused[0][1]
    assert out.getvalue().count(b"\x1d") == 1


def test_field_over_9999_bytes_is_refused() -> None:
    record = simple_record("wide", f520="y" * 10_000)
    with pytest.raises(RecordTooLarge, match="field 520"):
        record_to_iso2709(record)


@pytest.mark.parametrize("name", SAMPLES)
def test_marcxml_output_validates(schema: etree.XMLSchema, name: str) -> None:
    out = io.BytesIO()
    write_records(_records(name), out, "marcxml")
    document = etree.fromstring(out.getvalue())
    assert schema.validate(document), schema.error_log.last_error


def test_control_characters_are_stripped_from_marcxml(schema: etree.XMLSchema) -> None:
    record = simple_record("ctl", title="Bell\x07 and\x0b vertical tab\x1b escape")
    out = io.BytesIO()
    with MarcWriter(out, "marcxml") as writer:
        writer.write(record)
    assert writer.stats["stripped"] == 3
    document = etree.fromstring(out.getvalue())
    assert schema.validate(document), schema.error_log.last_error
    assert b"Bell and vertical tab escape" in out.getvalue()
    # pymarc's own writer lets them through and produces XML nothing can parse
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(pymarc.record_to_xml(record, namespace=True))


def test_marcxml_round_trip() -> None:
    records = _records("marc4j__pride-and-prejudice-fixed.mrc")
    out = io.BytesIO()
    write_records(records, out, "marcxml")
    again = [r.record for r in MarcReader(io.BytesIO(out.getvalue()))]
    assert [str(r) for r in again] == [str(r) for r in records]


def test_json_is_one_array_pymarc_reads() -> None:
    records = _records("marc4j__brkrtest_UTF8.mrc")
    out = io.BytesIO()
    write_records(records, out, "json")
    data = json.loads(out.getvalue())
    assert isinstance(data, list) and len(data) == len(records)
    theirs = list(pymarc.JSONReader(out.getvalue().decode("utf-8")))
    assert [str(r) for r in theirs] == [str(r) for r in records]
    ours = [r.record for r in MarcReader(io.BytesIO(out.getvalue()))]
    assert [str(r) for r in ours] == [str(r) for r in records]


def test_mrk_round_trip() -> None:
    records = [
        *_records("marc4j__brkrtest_UTF8.mrc"),
        simple_record("esc", title="Costs $5 {braces} back\\slash"),
    ]
    out = io.BytesIO()
    write_records(records, out, "mrk")
    text = out.getvalue().decode("utf-8")
    assert "{dollar}5 {lcub}braces{rcub} back{bsol}slash" in text
    again = [r.record for r in MarcReader(io.BytesIO(out.getvalue()))]
    assert [_body(r) for r in again] == [_body(r) for r in records]


def _body(record: pymarc.Record) -> list[str]:
    """Leader codes and fields, without the lengths a writer recomputes."""
    return [str(record.leader)[5:12], *(str(f) for f in record.fields)]


def test_mrk_reads_like_the_iso2709_it_was_made_from() -> None:
    mrk = [r.record for r in MarcReader(MARC_DIR / "marc4j__brkrtest.mrk")]
    mrc = [r.record for r in MarcReader(MARC_DIR / "marc4j__test_resources_brkrtest.mrc")]
    assert len(mrk) == len(mrc) == 8
    assert [str(r) for r in mrk] == [str(r) for r in mrc]


def test_marcxml_names_the_records_it_refused_in_a_closing_comment(
    schema: etree.XMLSchema,
) -> None:
    out = io.BytesIO()
    with MarcWriter(out, "marcxml") as writer:
        writer.write(simple_record("ok"))
        assert writer.write(None, b"00026nam--22000251i 4500\x1e\x1d") is False  # unreadable
        # what a caller refuses itself, with a name that tries to close the comment early
        writer.refused.append(("record x-->y", "deleted; no metadata kept"))
    text = out.getvalue().decode("utf-8")
    document = etree.fromstring(out.getvalue())
    assert schema.validate(document), schema.error_log.last_error
    assert len(document.findall("{http://www.loc.gov/MARC21/slim}record")) == 1
    (comment,) = [c.text for c in document.xpath("//comment()")]
    assert comment.startswith(" Not written: 2 of 3 records.\n")
    assert "stored record cannot be read" in comment
    assert "record x- ->y: deleted; no metadata kept" in comment
    assert text.endswith("-->\n</collection>\n")
    # a document with nothing refused carries no comment
    clean = io.BytesIO()
    write_records([simple_record("ok")], clean, "marcxml")
    assert b"<!--" not in clean.getvalue()


@pytest.mark.parametrize("fmt", ["iso2709", "json", "mrk"])
def test_formats_that_cannot_carry_a_note_end_as_usual(fmt: str) -> None:
    out = io.BytesIO()
    with MarcWriter(out, fmt) as writer:
        writer.write(simple_record("ok"))
        if fmt == "iso2709":
            writer.write(simple_record("wide", f520="y" * 10_000))
        else:
            writer.write(None, b"00026nam--22000251i 4500\x1e\x1d")  # unreadable
    assert writer.refused
    assert [r.control_number for r in MarcReader(io.BytesIO(out.getvalue()))] == ["ok"]
    assert b"not written" not in out.getvalue()
