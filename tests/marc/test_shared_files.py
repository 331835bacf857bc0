"""Every MARC file of the shared test data goes through the reader: each record is either
read or rejected with a reason, nothing crashes, and the counts add up."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from marc.errors import UnusableInput
from marc.reader import MarcReader, decode_iso2709
from tests.paths import MARC_DIR

FILES = sorted(p for p in MARC_DIR.iterdir() if p.name != "SOURCES.txt")
#: Files that are not MARC at all (the reader must say so instead of yielding records).
NOT_MARC = {
    "marcperl__farsi.marc": "lines of MARC-8 text with no leader or directory",
    "marcperl__invalid.xml": "a collection holding a bare datafield, no record element",
    "marc4j__modsoutput.xml": "MODS, not MARCXML",
}


def test_the_shared_data_is_there() -> None:
    assert len(FILES) > 150, f"expected the shared MARC files under {MARC_DIR}"


def _all_text(record) -> list[str]:
    texts = []
    for field in record.fields:
        if field.control_field:
            texts.append(field.data or "")
        else:
            texts.extend(s.value for s in field.subfields)
    return texts


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_record_is_read_or_rejected_with_a_reason(path: Path) -> None:
    if path.name in NOT_MARC:
        with pytest.raises(UnusableInput) as info:
            list(MarcReader(path))
        assert path.name in str(info.value)
        return
    with MarcReader(path) as reader:
        results = list(reader)
    assert results, "a MARC file yields at least one result"
    ok = [r for r in results if r.ok]
    rejected = [r for r in results if not r.ok]
    assert len(results) == len(ok) + len(rejected)
    assert [r.ordinal for r in results] == list(range(1, len(results) + 1))
    for result in rejected:
        assert result.record is None and result.marc is None
        assert isinstance(result.reason, str) and len(result.reason) > 8
        assert result.raw, "rejected records keep their raw bytes"
    for result in ok:
        assert result.record is not None and result.marc is not None
        assert all(unicodedata.is_normalized("NFC", t) for t in _all_text(result.record))
        if result.normalized:  # what spares the store normalising the record again
            assert str(result.record.leader)[9] == "a"
            assert not any("\x00" in t for t in _all_text(result.record))
        # what is stored reads back to the same record
        again = decode_iso2709(result.marc, forced="utf-8")
        assert again.record is not None, again.reason
        assert str(again.record) == str(result.record)
    if reader.format in ("iso2709", "marcxml"):
        assert all(r.normalized for r in ok), "ISO 2709 and MARCXML decoders normalise"


def test_offsets_point_at_the_records() -> None:
    path = MARC_DIR / "marc4j__pride-and-prejudice-with-many-errors.mrc"
    data = path.read_bytes()
    for result in MarcReader(path):
        assert data[result.offset : result.offset + len(result.raw)] == result.raw


@pytest.mark.parametrize(
    ("name", "ok", "rejected", "reason"),
    [
        # pymarc loses everything after the first bad length; we lose only the bad records
        ("marc4j__pride-and-prejudice-with-many-errors.mrc", 340, 43, "directory"),
        ("pymarc__bad_records.mrc", 0, 8, ""),
        # a BEL in an attribute of the second record: the first and third are read
        ("rubymarc__three-records-second-bad.xml", 2, 1, "not allow (line 72, column 29)"),
        ("pymarc__1251.dat", 0, 6, "Windows-1251"),
        # a 1,096,887-byte record (leader length and base address 99999) is one reject
        ("marc4j__bad_hathi_records.mrc", 4, 1, "ISO 2709 allows at most 99,999"),
        ("pymarc__testunimarc.dat", 0, 1, "UNIMARC"),
    ],
)
def test_known_outcomes(name: str, ok: int, rejected: int, reason: str) -> None:
    results = list(MarcReader(MARC_DIR / name))
    assert sum(r.ok for r in results) == ok
    assert sum(not r.ok for r in results) == rejected
    assert any(reason in (r.reason or "") for r in results if not r.ok)


def test_cp1251_records_read_when_told_the_encoding() -> None:
    results = list(MarcReader(MARC_DIR / "pymarc__1251.dat", encoding="cp1251"))
    assert all(r.ok for r in results)
    text = " ".join(" ".join(_all_text(r.record)) for r in results)
    assert any("\u0400" <= ch <= "\u04ff" for ch in text)
    assert all(r.encoding == "cp1251" for r in results)


def test_valid_utf8_input_is_stored_byte_identical() -> None:
    path = MARC_DIR / "marc4j__pride-and-prejudice-fixed.mrc"
    identical = [r for r in MarcReader(path) if r.ok and r.marc == r.raw]
    assert len(identical) > 300


def test_without_validation_unwritable_records_are_rejected_not_raised() -> None:
    """A record that ISO 2709 cannot hold (a delimiter inside a field: ttt05000099 of
    marcperl__camel.usmarc) is rejected with the reason even when the reader does not
    validate; the file's other records still come, and no file raises."""
    camel = list(MarcReader(MARC_DIR / "marcperl__camel.usmarc", validate=False))
    bad = [r for r in camel if r.control_number == "ttt05000099"]
    assert len(bad) == 1 and bad[0].record is None and "field 007" in (bad[0].reason or "")
    assert sum(r.ok for r in camel) == len(camel) - 1
    for path in FILES:
        if path.name in NOT_MARC:
            continue
        for result in MarcReader(path, validate=False):
            assert result.ok or (result.record is None and result.reason), path.name
