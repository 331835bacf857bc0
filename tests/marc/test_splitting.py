"""Damaged ISO 2709 files, made from real records of the shared files: every record of the
input comes out as exactly one result, read with exactly its fields or rejected with its
ordinal, byte offset, control number when readable and a reason, whatever happened to its
terminator, its leader's length or the bytes between the records."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from marc import iso2709
from marc.errors import UnusableInput
from marc.reader import MarcReader, ReadResult
from tests.paths import MARC_DIR


def _records(path: Path) -> list[bytes]:
    """The records of a shared file whose records all end with their terminator."""
    return [chunk + b"\x1d" for chunk in path.read_bytes().split(b"\x1d")[:-1]]


def _read(data: bytes) -> list[ReadResult]:
    return list(MarcReader(io.BytesIO(data)))


def _fields(result: ReadResult) -> list[str]:
    assert result.record is not None, result.reason
    return [str(f) for f in result.record.fields]


# Four records of Perl's test data (MARC-8).
A, B, C, D = _records(MARC_DIR / "marcperl__camel.usmarc")[:4]
CN = {A: "fol05731351", B: "fol05754809", C: "fol05843555", D: "fol05843579"}
#: Their fields as read from the undamaged file.
FIELDS = {r.control_number: _fields(r) for r in _read(A + B + C + D)}


def _outcome(results: list[ReadResult]) -> list[tuple[int, int | None, str | None, str | None]]:
    """(ordinal, offset, control number, reason) per result; every record read has exactly
    the fields it has in the undamaged file."""
    for result in results:
        if result.ok:
            assert _fields(result) == FIELDS[result.control_number]
    return [(r.ordinal, r.offset, r.control_number, r.reason) for r in results]


def _ok(*offsets_and_records: tuple[int, bytes]) -> list[tuple[int, int, str, None]]:
    return [(i, at, CN[rec], None) for i, (at, rec) in enumerate(offsets_and_records, 1)]


def test_a_deleted_terminator_costs_no_record() -> None:
    """A's 0x1D deleted used to make A and B one piece, read as A with a length warning: B
    was gone and the import said nothing."""
    results = _read(A[:-1] + B + C)
    at_b = len(A) - 1
    assert _outcome(results) == _ok((0, A), (at_b, B), (at_b + len(B), C))
    assert [r.warnings for r in results] == [["record terminator missing; added"], [], []]


@pytest.mark.parametrize(
    ("byte", "warning"),
    [
        (b"X", "record terminator is byte 0x58, not 0x1D; fixed"),
        (b"0", "record terminator is byte 0x30, not 0x1D; fixed"),  # a digit, like a leader's
        (b"\n", "record terminator missing; added"),
    ],
)
def test_an_overwritten_terminator_costs_no_record(byte: bytes, warning: str) -> None:
    results = _read(A[:-1] + byte + B + C)
    assert _outcome(results) == _ok((0, A), (len(A), B), (len(A) + len(B), C))
    assert [r.warnings for r in results] == [[warning], [], []]


def test_every_terminator_missing() -> None:
    """Records with no 0x1D at all (dropped, or turned into newlines by a text tool)."""
    for sep in (b"", b"\n"):
        results = _read(b"".join(r[:-1] + sep for r in (A, B, C, D)))
        size = [len(r) - 1 + len(sep) for r in (A, B, C, D)]
        starts = [sum(size[:k]) for k in range(4)]
        assert _outcome(results) == _ok(*zip(starts, (A, B, C, D), strict=True))
        assert all(r.warnings == ["record terminator missing; added"] for r in results)


def _with_length(record: bytes, length: bytes) -> bytes:
    return length + record[5:]


@pytest.mark.parametrize(
    ("length", "warning"),
    [
        # used to be two rejects, the reason wrong, every later ordinal off by one
        (b"00100", "leader says the record is 100 bytes, it is 647; recomputed"),
        (b"00900", "leader says the record is 900 bytes, it is 647; recomputed"),
        # too big by exactly C: it points at C's terminator
        (
            b"%05d" % (len(B) + len(C)),
            "leader says the record is 1252 bytes, it is 647; recomputed",
        ),
        (b"99999", "leader says the record is 99999 bytes, it is 647; recomputed"),
        (b"0x647", "leader record length '0x647' is not a number; recomputed"),
        (b"     ", "leader record length '     ' is not a number; recomputed"),
        (b"  647", "leader record length '  647' is not a number; recomputed"),
    ],
)
def test_a_wrong_leader_length_costs_nothing_when_the_terminator_is_there(
    length: bytes, warning: str
) -> None:
    for sep in (b"", b"\r\n"):  # spaces of a blank length are not taken for padding
        results = _read(A + sep + _with_length(B, length) + sep + C)
        at_b = len(A) + len(sep)
        assert _outcome(results) == _ok((0, A), (at_b, B), (at_b + len(B) + len(sep), C))
        assert [r.warnings for r in results] == [[], [warning], []]


def test_a_lost_terminator_and_a_wrong_length_next() -> None:
    results = _read(A[:-1] + _with_length(B, b"00100") + C)
    at_b = len(A) - 1
    assert _outcome(results) == _ok((0, A), (at_b, B), (at_b + len(B), C))


#: B with a letter in the length of its first directory entry.
B_BAD_DIRECTORY = B[:29] + b"x" + B[30:]
BAD_DIRECTORY = "directory entry 1 ('00100x300000') is damaged"


@pytest.mark.parametrize("byte", [b"", b"X", b"0"])
def test_a_lost_terminator_before_a_record_with_a_damaged_directory(byte: bytes) -> None:
    """B's directory cannot confirm its leader; A's leader and directory agree on where A
    ends, and B's leader starts there."""
    results = _read(A[:-1] + byte + B_BAD_DIRECTORY + C)
    at_b = len(A) - 1 + len(byte)
    assert _outcome(results) == [
        (1, 0, CN[A], None),
        (2, at_b, None, BAD_DIRECTORY),  # no control number: the directory is unreadable
        (3, at_b + len(B), CN[C], None),
    ]


STRAY = B.index(b"Programming the Perl") + 3  # inside 245 $a
STRAY_REASON = "field 245 $a contains a MARC delimiter character (0x1D-0x1F)"


@pytest.mark.parametrize(
    "damaged",
    [
        B[:STRAY] + b"\x1d" + B[STRAY + 1 :],  # overwrites a byte: the leader points past it
        B[:STRAY] + b"\x1d" + B[STRAY:],  # inserted: the directory lays the data out past it
        _with_length(B[:STRAY] + b"\x1d" + B[STRAY:], b"99999"),  # and the length is wrong
        B[:STRAY] + b"\x1d" + b"x" * 40 + B[STRAY:],  # with more: the end is 41 bytes further
    ],
    ids=["overwriting", "inserted", "inserted-length-wrong", "inserted-with-more"],
)
def test_a_stray_terminator_inside_the_data_is_one_reject(damaged: bytes) -> None:
    results = _read(A + damaged + C)
    assert _outcome(results) == [
        (1, 0, CN[A], None),
        (2, len(A), CN[B], STRAY_REASON),
        (3, len(A) + len(damaged), CN[C], None),
    ]
    assert results[1].raw == damaged


@pytest.mark.parametrize(
    ("between", "end"),
    [(b"\r\n", b"\r\n\x1a"), (b"\n", b""), (b"\x00" * 3000, b"\x00" * 100), (b"   ", b" ")],
)
def test_what_tools_put_between_records_is_skipped(between: bytes, end: bytes) -> None:
    results = _read(A + between + B + between + C + end)
    at_b = len(A) + len(between)
    assert _outcome(results) == _ok((0, A), (at_b, B), (at_b + len(B) + len(between), C))
    assert all(not r.warnings for r in results)


@pytest.mark.parametrize(
    "junk",
    [b"JUNK", b"\x1d", b"\x1d\x1d\r\n\x1d", b"12345 junk\r\n", b"00647"],
    ids=["text", "doubled-terminator", "terminators", "digits", "length-written-twice"],
)
def test_other_bytes_between_records_are_noted_not_counted(junk: bytes) -> None:
    results = _read(A + junk + B + C)
    at_b = len(A) + len(junk)
    assert _outcome(results) == _ok((0, A), (at_b, B), (at_b + len(B), C))
    note = f"{len(junk)} byte(s) that are not MARC data (at byte {len(A)}); skipped"
    assert [r.warnings for r in results] == [[f"followed by {note}"], [], []]


def test_bytes_before_the_first_record_or_after_the_last_are_noted() -> None:
    results = _read(b"garbage\r\n" + A + B + b"-- end --")
    assert _outcome(results) == _ok((9, A), (9 + len(A), B))
    assert results[0].warnings == [
        "preceded by 9 byte(s) that are not MARC data (at byte 0); skipped"
    ]
    at = 9 + len(A) + len(B)
    assert results[1].warnings == [
        f"followed by 9 byte(s) that are not MARC data (at byte {at:,}); skipped"
    ]


TRUNCATED = "file ends in the middle of a record (truncated file?)"


@pytest.mark.parametrize(
    ("size", "control_number"),
    [(300, CN[C]), (60, None), (10, None), (1, None)],  # in the data, directory, leader
)
def test_a_truncated_last_record_is_rejected(size: int, control_number: str | None) -> None:
    results = _read(A + B + C[:size])
    assert _outcome(results) == [
        (1, 0, CN[A], None),
        (2, len(A), CN[B], None),
        (3, len(A) + len(B), control_number, TRUNCATED),
    ]
    assert results[2].raw == C[:size]


def test_a_last_record_missing_only_its_terminator_is_read() -> None:
    results = _read(A + B + C[:-1] + b"\r\n")
    assert _outcome(results) == _ok((0, A), (len(A), B), (len(A) + len(B), C))
    assert results[2].warnings == ["record terminator missing; added"]


BROKEN_OFF = "record breaks off where another record begins: the rest of it is missing"


@pytest.mark.parametrize(("size", "control_number"), [(300, CN[B]), (60, None)])
def test_a_record_cut_short_before_the_next_one_is_rejected_alone(
    size: int, control_number: str | None
) -> None:
    results = _read(A + B[:size] + C)
    assert _outcome(results) == [
        (1, 0, CN[A], None),
        (2, len(A), control_number, BROKEN_OFF),
        (3, len(A) + size, CN[C], None),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\r\n\x1a", "not in a MARC format"),
        (b"garbage\x1dmore garbage\x1d", "no MARC record found"),
        (b"\x1d\x1d\x1d", "no MARC record found"),
    ],
)
def test_inputs_without_records(content: bytes, message: str) -> None:
    with pytest.raises(UnusableInput, match=message):
        _read(content)


def test_shared_files_with_such_damage() -> None:
    # 5 bytes (the record length written twice) before the leader
    (marc4,) = MarcReader(MARC_DIR / "yaz__marc4.marc")
    assert marc4.offset == 5 and "indicator" in (marc4.reason or "")
    assert marc4.warnings[0] == "preceded by 5 byte(s) that are not MARC data (at byte 0); skipped"
    # a doubled terminator after the second record
    badldr = list(MarcReader(MARC_DIR / "marcperl__badldr.usmarc"))
    assert [r.ok for r in badldr] == [True] * 6 + [False]
    assert badldr[1].warnings == [
        "followed by 1 byte(s) that are not MARC data (at byte 472); skipped"
    ]
    # a record of 1,096,887 bytes whose leader says 99999 (length and base address)
    hathi = list(MarcReader(MARC_DIR / "marc4j__bad_hathi_records.mrc"))
    assert [(r.ordinal, r.offset, r.ok) for r in hathi][3:] == [
        (4, 6343, False),
        (5, 6343 + 1_096_887, True),
    ]
    assert hathi[3].control_number == "003051567"


# -- every damage on many real records -------------------------------------------------------

#: Shared files of well-formed records (MARC-8 and UTF-8, several producers).
SWEEP_FILES = [
    "marcperl__camel.usmarc",
    "marc4j__pride-and-prejudice-fixed.mrc",
    "marc4j__065001035.mrc",
    "pymarc__marc.dat",
    "yaz__marccol1.u8.marc",
]


def _well_formed(record: bytes) -> bool:
    """Read without a repair: lengths, base address and directory as they should be."""
    (result,) = _read(record)
    return result.ok and not result.warnings


@functools.cache
def _triples() -> list[tuple[bytes, bytes, bytes]]:
    triples = []
    for name in SWEEP_FILES:
        records = [r for r in _records(MARC_DIR / name) if _well_formed(r)]
        triples.extend(zip(records[::3], records[1::3], records[2::3], strict=False))
    return triples


def _stray(b: bytes) -> bytes:
    at = (int(b[12:17]) + len(b)) // 2
    while b[at] in (0x1E, 0x1F):
        at += 1
    return b[:at] + b"\x1d" + b[at + 1 :]


#: name: what it does to (a, b, c), and whether b is still read.
DAMAGE: dict[str, tuple[Callable[[bytes, bytes, bytes], tuple[bytes, bytes, bytes]], bool]] = {
    "a's terminator deleted": (lambda a, b, c: (a[:-1], b, c), True),
    "a's terminator overwritten": (lambda a, b, c: (a[:-1] + b"#", b, c), True),
    "b's length too small": (lambda a, b, c: (a, b"00030" + b[5:], c), True),
    "b's length too big": (lambda a, b, c: (a, b"%05d" % (len(b) + 200) + b[5:], c), True),
    "b's length blank": (lambda a, b, c: (a, b"     " + b[5:], c), True),
    "junk after a": (lambda a, b, c: (a + b"\x1a\x1dJUNK\r\n", b, c), True),
    "b cut short": (lambda a, b, c: (a, b[: len(b) // 2], c), False),
    "a 0x1D inside b": (lambda a, b, c: (a, _stray(b), c), False),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_every_record_is_one_result_whatever_the_damage(damage: str) -> None:
    make, b_read = DAMAGE[damage]
    triples = _triples()
    assert len(triples) > 100
    for a, b, c in triples:
        clean = [_fields(r) for r in _read(a + b + c)]
        parts = make(a, b, c)
        results = _read(b"".join(parts))
        context = (damage, a[:24], b[:24])
        assert [r.ordinal for r in results] == [1, 2, 3], context
        assert [r.offset for r in results] == [0, len(parts[0]), len(parts[0]) + len(parts[1])]
        assert results[0].ok and _fields(results[0]) == clean[0], context
        assert results[2].ok and _fields(results[2]) == clean[2], context
        assert results[1].ok == b_read, (context, results[1].reason)
        if b_read:
            assert _fields(results[1]) == clean[1], context


# -- the splitter on its own -----------------------------------------------------------------


def _pieces(data: bytes, chunk: int) -> list[tuple[int, bytes, str, list[str]]]:
    return [
        (p.offset, p.data, p.end, p.notes)
        for p in iso2709.split_records(io.BytesIO(data), chunk_size=chunk)
    ]


DAMAGED_FILES = [
    A[:-1] + B + C,
    A[:-1] + b"0" + B_BAD_DIRECTORY + C,
    A + _with_length(B, b"00100") + C,
    A + b"\r\n" + _with_length(B, b"     ") + C,
    A + b" " * 40 + _with_length(B, b"  647") + C,
    A + B[:STRAY] + b"\x1d" + B[STRAY:] + C,
    A + B[:STRAY] + b"\x1d" + b"x" * 40 + B[STRAY:] + C,
    A + b"\x1d\x1dJUNK" + B + C[:300],
    b"".join(r[:-1] + b"\n" for r in (A, B, C, D)),
]


@pytest.mark.parametrize("chunk", [1, 7, 24, 1000])
def test_pieces_do_not_depend_on_how_the_stream_is_read(chunk: int) -> None:
    files = [*DAMAGED_FILES, *(MARC_DIR / n for n in ("marcperl__badldr.usmarc",))]
    for data in files:
        blob = data.read_bytes() if isinstance(data, Path) else data
        assert _pieces(blob, chunk) == _pieces(blob, 1 << 16)


def test_pieces_tile_the_stream() -> None:
    """Pieces, what tools put between records and bytes noted as skipped make up the whole
    stream: no byte is in two pieces, and none is dropped without a note."""
    gap = b" \t\r\n\x00\x1a"
    for data in DAMAGED_FILES:
        pieces = list(iso2709.split_records(io.BytesIO(data)))
        at = 0
        for k, piece in enumerate(pieces):
            assert piece.offset >= at
            assert data[piece.offset : piece.offset + len(piece.data)] == piece.data
            end = pieces[k + 1].offset if k + 1 < len(pieces) else len(data)
            after = piece.offset + len(piece.data)
            skipped = data[after:end]
            if skipped.strip(gap):
                first = after + len(skipped) - len(skipped.lstrip(gap))
                assert any(f"(at byte {first:,})" in note for note in piece.notes)
            at = after
