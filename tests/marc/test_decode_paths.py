"""The two ways an ISO 2709 record is decoded, and the checks every record goes through.

Well-formed NFC UTF-8 records take a short path (``_decode_clean``); every other record is
taken apart field by field, with its repairs and reasons. Where the short path applies it
must give exactly what the long one gives, and it must decline whatever needs the long one.
"""

from __future__ import annotations

import gzip
import io
import unicodedata

import pymarc
import pytest
from pymarc import Field, Indicators, Subfield

from marc import iso2709
from marc.reader import _decode_clean, _decode_field_by_field, decode_iso2709
from marc.validate import validate
from marc.writer import record_to_iso2709
from tests.marc.helpers import data_field, make_iso, simple_record
from tests.paths import MARC_DIR


def _layout(record: pymarc.Record) -> list[tuple[object, ...]]:
    return [
        (f.tag, f.data, f.indicators, [tuple(s) for s in f.subfields], f.control_field)
        for f in record.fields
    ]


def _assert_same(raw: bytes) -> bool:
    """Compare both paths on ``raw``; True when the short path applied."""
    short = _decode_clean(raw)
    if short is None:
        return False
    for forced in (None, "utf-8"):
        long = _decode_field_by_field(raw, None, forced)
        assert long.record is not None and short.record is not None
        assert str(short.record.leader) == str(long.record.leader)
        assert _layout(short.record) == _layout(long.record)
        for name in ("reason", "warnings", "encoding", "canonical", "normalized"):
            assert getattr(short, name) == getattr(long, name), name
    return True


def _iso_pieces() -> list[bytes]:
    pieces: list[bytes] = []
    for path in sorted(MARC_DIR.iterdir()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if not data[:5].isdigit():
            continue
        pieces.extend(p.data for p in iso2709.split_records(io.BytesIO(data)) if p.complete)
    return pieces


def test_short_path_equals_the_long_one_on_the_shared_files() -> None:
    pieces = _iso_pieces()
    applied = sum(_assert_same(raw) for raw in pieces)
    # Most records of the shared files are clean UTF-8; MARC-8 and broken ones are not.
    assert 0 < applied < len(pieces)


def test_short_path_on_vietnamese_records() -> None:
    record = simple_record("vn1", "Lịch sử làng quê Việt Nam /")
    record.add_field(
        Field("100", Indicators("0", " "), [Subfield("a", "Nguyễn Văn Đức"), Subfield("d", "")])
    )
    record.add_field(Field("852", Indicators(" ", " "), []))  # no subfields at all
    record.add_field(Field("00A", data="local"))  # not a control tag: a data field
    raw = record_to_iso2709(record)
    assert _assert_same(raw)
    decoded = decode_iso2709(raw)
    assert decoded.canonical and decoded.record is not None
    assert decoded.record["100"]["a"] == "Nguyễn Văn Đức"


def _with(raw: bytes, at: int, value: bytes) -> bytes:
    return raw[:at] + value + raw[at + len(value) :]


def _reordered() -> bytes:
    """A well-formed record whose directory lists 245 before 001, while the data area
    holds 001 first: valid ISO 2709, read by offsets."""
    data = b"x1\x1e" + data_field("10", ("a", b"T")) + b"\x1e"
    directory = b"245000600003" + b"001000300000"
    base = 24 + len(directory) + 1
    leader = b"%05dnam a22%05d   4500" % (base + len(data) + 1, base)
    return leader + directory + b"\x1e" + data + b"\x1d"


def _declined_cases() -> dict[str, bytes]:
    good = make_iso([("001", b"x1"), ("245", data_field("10", ("a", "Tựa đề".encode())))])
    base = int(good[12:17])
    nfd = unicodedata.normalize("NFD", "Tựa đề").encode()
    return {
        "MARC-8 (leader/09 blank)": _with(good, 9, b" "),
        "wrong record length": _with(good, 0, b"%05d" % (len(good) + 1)),
        "wrong base address": _with(good, 12, b"%05d" % (base + 1)),
        "leader 20-23 not 4500": _with(good, 20, b"4400"),
        "data out of directory order": _reordered(),
        "text not NFC": make_iso([("245", data_field("10", ("a", nfd)))]),
        "invalid UTF-8": make_iso([("245", data_field("10", ("a", b"\xc3(")))]),
        "empty subfield": make_iso([("245", b"10\x1f\x1fa" + b"x")]),
        "subfield code not printable": make_iso([("245", b"10\x1f\x05x")]),
        "one indicator": make_iso([("245", b"1\x1fax")]),
        "non-ASCII indicator": make_iso([("245", "1đ".encode() + b"\x1fax")]),
        "directory entry damaged": _with(good, 24 + 12 + 3, b"00x6"),
    }


@pytest.mark.parametrize("case", sorted(_declined_cases()))
def test_short_path_declines_what_needs_the_long_one(case: str) -> None:
    raw = _declined_cases()[case]
    assert _decode_clean(raw) is None
    decoded = decode_iso2709(raw)  # the long path still reads or rejects it, with a reason
    assert decoded.record is not None or decoded.reason


def test_validate_reports_every_problem_of_a_field() -> None:
    record = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    record.add_field(
        Field(
            "245",
            Indicators("1", "\x00"),
            [
                Subfield("a", "x\x01"),
                Subfield("A", "y"),
                Subfield("@", "z\x1e"),
                Subfield("b", None),  # type: ignore[arg-type]
                Subfield("c", "fine"),
            ],
        )
    )
    record.add_field(Field("0a5", Indicators(" ", " "), []))
    record.add_field(Field("Abc", Indicators("Z", " "), [Subfield("a", "")]))
    record.add_field(Field("650", Indicators(" ", "4"), [Subfield("a", "no\u00a0break")]))
    errors, warnings = validate(record)
    assert errors == [
        "field 245 has an invalid indicator 2 ('\\x00')",
        "field 245 has an invalid subfield code '@'",
        "field 245 $@ contains a MARC delimiter character (0x1D-0x1F)",
        "tag 'Abc' is not a valid MARC tag",
    ]
    assert warnings == [
        "field 245 $a contains control characters",
        "field 245 has a non-standard subfield code 'A'",
        "field 0a5 has no subfields",
    ]
    # A valid tag or indicator pair, once seen, is remembered: a bad one never is.
    assert validate(record) == (errors, warnings)


def test_validate_reports_indicators_that_are_not_characters() -> None:
    record = simple_record()
    record["245"].indicators = Indicators(["1"], "0")  # type: ignore[arg-type]
    assert validate(record)[0] == ["field 245 has an invalid indicator 1 (['1'])"]
