"""MARC-8 conversion against yaz-marcdump, leader/09 lies, code-page detection."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from marc.encoding import canonical_encoding, detect, marc8_decode
from marc.errors import UnknownEncoding
from marc.reader import MarcReader, decode_iso2709
from tests.marc.helpers import data_field, make_iso, run_yaz
from tests.paths import MARC_DIR


def _fields(record) -> list[tuple]:
    out = []
    for f in record.fields:
        if f.control_field:
            out.append((f.tag, unicodedata.normalize("NFC", f.data or "")))
        else:
            subs = tuple((s.code, unicodedata.normalize("NFC", s.value)) for s in f.subfields)
            out.append((f.tag, tuple(f.indicators), subs))
    return out


def _marc8_files() -> list[Path]:
    files = []
    for path in sorted(MARC_DIR.iterdir()):
        if (
            path.suffix in (".mrc", ".dat", ".marc", ".usmarc")
            and path.name != "marcperl__farsi.marc"
        ):
            try:
                results = list(MarcReader(path))
            except Exception:
                continue
            if any(r.ok and r.encoding == "marc-8" and not r.warnings for r in results):
                files.append(path)
    return files


MARC8_FILES = _marc8_files()


def test_there_are_marc8_files() -> None:
    assert len(MARC8_FILES) >= 10


@pytest.mark.parametrize("path", MARC8_FILES, ids=[p.name for p in MARC8_FILES])
def test_marc8_conversion_matches_yaz(path: Path) -> None:
    done = run_yaz("-f", "MARC-8", "-t", "UTF-8", "-o", "marc", str(path))
    assert done.stdout, done.stderr  # (yaz exits 5 on files with trailing junk)
    theirs = []
    offset = 0
    for chunk in done.stdout.split(b"\x1d")[:-1]:
        chunk += b"\x1d"
        theirs.append(decode_iso2709(chunk, offset, forced="utf-8").record)
        offset += len(chunk)
    ours = list(MarcReader(path))
    if len(ours) == len(theirs):
        pairs = list(zip(ours, theirs, strict=True))
    else:  # yaz stops at a broken leader (marcperl__badldr); we read on: pair by 001
        by_cn = {r["001"].data.strip(): r for r in theirs if r is not None and r.get("001")}
        pairs = [(r, by_cn.get(r.control_number)) for r in ours]
    compared = 0
    for result, other in pairs:
        if not result.ok or result.encoding != "marc-8" or result.warnings or other is None:
            continue
        assert _fields(result.record) == _fields(other), result.control_number
        compared += 1
    if not compared and len(ours) != len(theirs):
        pytest.skip("yaz stopped early and the records have no 001 to pair them by")
    assert compared, "at least one MARC-8 record compared with yaz"


def test_marc8_diacritics_go_after_their_letter_and_compose() -> None:
    # ANSEL: 0xE2 acute, 0xF2 dot below, 0xE3 circumflex (before the base letter)
    assert marc8_decode(b"Caf\xe2e").text == "Café"
    assert marc8_decode(b"Vi\xf2\xe3et").text == "Việt"
    assert marc8_decode(b"\xb3\xe3o").text == "đô"
    result = marc8_decode(b"bad \xc9 byte")
    assert result.errors == 1 and "\ufffd" in result.text


def test_leader_says_utf8_but_data_is_marc8() -> None:
    data = make_iso(
        [("001", b"x1"), ("245", data_field("10", ("a", b"Caf\xe2e du Vi\xf2\xe3et Nam")))],
        leader09="a",
    )
    item = decode_iso2709(data)
    assert item.record is not None
    assert item.record["245"]["a"] == "Café du Việt Nam"
    assert any("leader/09 says UTF-8" in w for w in item.warnings)


def test_leader_says_marc8_but_data_is_utf8() -> None:
    data = make_iso(
        [("001", b"x2"), ("245", data_field("10", ("a", "Tiếng Việt".encode())))], leader09=" "
    )
    item = decode_iso2709(data)
    assert item.record["245"]["a"] == "Tiếng Việt"
    assert any("leader/09 says MARC-8" in w for w in item.warnings)


def test_broken_utf8_is_rejected_with_position() -> None:
    data = make_iso(
        [("001", b"x3"), ("245", data_field("10", ("a", "Tiếng Việt".encode() + b"\xff")))]
    )
    item = decode_iso2709(data)
    assert item.record is None
    assert "invalid UTF-8" in item.reason and "0xFF" in item.reason


def test_nfd_input_is_stored_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn Du. Truyện Kiều")
    data = make_iso([("001", b"x4"), ("245", data_field("10", ("a", nfd.encode())))])
    item = decode_iso2709(data)
    assert item.record["245"]["a"] == "Nguyễn Du. Truyện Kiều"
    assert item.canonical is False  # re-serialised, not the NFD bytes


def test_cyrillic_under_blank_leader_is_detected() -> None:
    text = "Война и мир. Роман в четырёх томах".encode("cp1251")
    verdict = detect([text], " ")
    assert verdict.encoding is None and verdict.suggestion == "cp1251"


def test_latin1_under_utf8_leader_is_suggested() -> None:
    text = "Histoire de la littérature française à l'époque".encode("latin-1")
    verdict = detect([text], "a")
    assert verdict.encoding is None and verdict.suggestion == "cp1252"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("UTF8", "utf-8"), ("marc8", "marc-8"), ("TCVN", "tcvn3"), ("vni", "vni"), ("auto", "auto")],
)
def test_encoding_names(given: str, canonical: str) -> None:
    assert canonical_encoding(given) == canonical


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(UnknownEncoding):
        canonical_encoding("klingon-8")
