"""ISO 2709 (binary MARC) at the byte level: splitting a stream into records, taking one
record apart into leader and fields, and putting one together.

Nothing here decodes text; :mod:`marc.reader` does that. Records are split on the record
terminator (0x1D) here rather than trusted to the leader's length, so one record with a bad
length costs only that record, not the rest of the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from marc.errors import RecordTooLarge

RECORD_TERMINATOR = 0x1D
FIELD_TERMINATOR = 0x1E
SUBFIELD_DELIMITER = 0x1F
LEADER_LENGTH = 24
MAX_RECORD_LENGTH = 99_999
MAX_FIELD_LENGTH = 9_999
#: A "record" with no terminator within this many bytes is not ISO 2709: give up on it.
MAX_SCAN = 4 * 1024 * 1024
_CHUNK = 1 << 16
_GAP = b" \t\r\n\x00\x1a"  # what files put between records: newlines, NULs, Ctrl-Z
_LEADER_START = re.compile(rb"\d{5}[\x20-\x7e]{7}\d{5}")
_TAG = re.compile(rb"[0-9A-Za-z]{3}")
#: A whole directory of well-formed entries: a tag, then the field's length and start.
DIRECTORY = re.compile(rb"(?:" + _TAG.pattern + rb"[0-9]{9})+")


@dataclass(slots=True)
class Piece:
    """One record's bytes as cut from the stream.

    ``complete`` is False when the stream ended (or :data:`MAX_SCAN` was reached) before a
    record terminator.
    """

    offset: int
    data: bytes
    complete: bool = True


def split_records(stream: BinaryIO, chunk_size: int = _CHUNK) -> Iterator[Piece]:
    """Cut a binary stream into record-sized pieces, holding at most one record (plus one
    read chunk) in memory.

    A piece ends at the first 0x1D after its start, except when the leader's record length
    points at a 0x1D further on (a stray 0x1D inside the data), or at the start of another
    leader before the next 0x1D (a record that lost its terminator).
    """
    buf = bytearray()
    base = 0  # stream offset of buf[0]
    eof = False

    def fill() -> bool:
        nonlocal eof
        if eof:
            return False
        data = stream.read(chunk_size)
        if not data:
            eof = True
            return False
        buf.extend(data)
        return True

    while True:
        # skip what sits between records
        while True:
            start = 0
            while start < len(buf) and buf[start] in _GAP:
                start += 1
            if start:
                del buf[:start]
                base += start
            if buf or not fill():
                break
        if not buf:
            return
        while len(buf) < LEADER_LENGTH and fill():
            pass
        declared = int(buf[:5]) if buf[:5].isdigit() else 0
        end = -1
        if declared > LEADER_LENGTH:
            while len(buf) < declared and fill():
                pass
            if len(buf) >= declared and buf[declared - 1] == RECORD_TERMINATOR:
                end = declared
        if end < 0:
            searched = 0
            while True:
                pos = buf.find(b"\x1d", searched)
                if pos >= 0:
                    end = pos + 1
                    break
                searched = len(buf)
                if searched > MAX_SCAN or not fill():
                    break
            # a terminator missing: the next leader starts before the next 0x1D
            if (
                end > 0
                and LEADER_LENGTH < declared < end
                and _LEADER_START.match(buf, declared)
                and buf[declared - 1] != RECORD_TERMINATOR
            ):
                yield Piece(base, bytes(buf[:declared]), complete=False)
                del buf[:declared]
                base += declared
                continue
        if end < 0:
            cut = len(buf) if eof else min(len(buf), MAX_SCAN)
            yield Piece(base, bytes(buf[:cut]), complete=False)
            del buf[:cut]
            base += cut
            continue
        yield Piece(base, bytes(buf[:end]))
        del buf[:end]
        base += end


class StructureError(Exception):
    """A record whose bytes cannot be taken apart; the message is for a cataloguer."""


@dataclass(slots=True)
class RawRecord:
    """A record taken apart but not decoded: leader text and (tag, bytes) per field.

    Field bytes exclude the field terminator. ``exact`` is True when the record is well
    formed as it stands (lengths, base address, terminators, leader 10-11 and 20-23), so
    its bytes can be stored unchanged.
    """

    leader: str
    fields: list[tuple[str, bytes]]
    warnings: list[str] = field(default_factory=list)
    exact: bool = True


def control_number(data: bytes) -> str | None:
    """The 001 of a record's bytes when the directory is readable enough to find it."""
    try:
        base = data.index(b"\x1e", LEADER_LENGTH)
    except ValueError:
        return None
    directory = data[LEADER_LENGTH:base]
    for i in range(0, len(directory) - 11, 12):
        if directory[i : i + 3] == b"001":
            entry = directory[i : i + 12]
            if not entry[3:12].isdigit():
                return None
            start = base + 1 + int(entry[7:12])
            end = data.find(b"\x1e", start)
            value = data[start : end if end >= 0 else start + int(entry[3:7])]
            text = value.decode("utf-8", "replace").strip()
            return text or None
    return None


def parse(data: bytes, complete: bool = True) -> RawRecord:
    """Take one record apart. Raises :class:`StructureError` with a reason a cataloguer
    can act on when the record cannot be read at all."""
    if len(data) < LEADER_LENGTH + 2:
        raise StructureError(f"record too short to be MARC ({len(data)} bytes)")
    try:
        leader = data[:LEADER_LENGTH].decode("ascii")
    except UnicodeDecodeError:
        raise StructureError("leader contains non-ASCII bytes") from None
    warnings: list[str] = []
    exact = True
    if not complete:
        if data[-1] == FIELD_TERMINATOR or data.endswith(b"\x1e\r\n") or data.endswith(b"\x1e\n"):
            warnings.append("record terminator missing; added")
            exact = False
        else:
            raise StructureError("record is truncated (no record terminator before the end)")
    elif data[-1] != RECORD_TERMINATOR:  # pragma: no cover - split_records ends on 0x1D
        raise StructureError("record terminator missing")
    body = data[:-1] if data[-1] == RECORD_TERMINATOR else data.rstrip(b"\r\n")
    if not leader[:5].isdigit():
        warnings.append(f"leader record length {leader[:5]!r} is not a number; recomputed")
        exact = False
    elif int(leader[:5]) != len(data):
        warnings.append(
            f"leader says the record is {int(leader[:5])} bytes, it is {len(data)}; recomputed"
        )
        exact = False
    try:
        dir_end = body.index(b"\x1e", LEADER_LENGTH)
    except ValueError:
        raise StructureError("no directory terminator: the directory is damaged") from None
    base = dir_end + 1
    if leader[12:17] != f"{base:05d}":
        if not leader[12:17].isdigit():
            warnings.append(f"leader base address {leader[12:17]!r} is not a number; fixed")
        else:
            warnings.append(f"leader base address {leader[12:17]} should be {base}; fixed")
        exact = False
    directory = body[LEADER_LENGTH:dir_end]
    if len(directory) % 12:
        raise StructureError(
            f"directory length {len(directory)} is not a multiple of 12: directory damaged"
        )
    if not directory:
        raise StructureError("record has no fields (empty directory)")
    entries: list[tuple[str, int, int]] = []
    for i in range(0, len(directory), 12):
        entry = directory[i : i + 12]
        tag = entry[:3]
        if not _TAG.fullmatch(tag) or not entry[3:].isdigit():
            raise StructureError(
                f"directory entry {i // 12 + 1} ({entry.decode('latin-1')!r}) is damaged"
            )
        entries.append((tag.decode("ascii"), int(entry[3:7]), int(entry[7:12])))
    fields: list[tuple[str, bytes]] = []
    consistent = True
    for tag, length, start in entries:
        begin = base + start
        stop = begin + length
        if length == 0 or stop > len(body) or body[stop - 1] != FIELD_TERMINATOR:
            consistent = False
            break
        fields.append((tag, body[begin : stop - 1]))
    if not consistent:
        # Lengths or offsets are wrong (a field grew past 9,999 bytes, a hand edit...). The
        # terminators still delimit the fields: use them if there is one field per entry.
        segments = body[base:].split(b"\x1e")
        if segments and segments[-1] == b"":
            segments.pop()
        if len(segments) != len(entries):
            raise StructureError(
                f"directory lists {len(entries)} fields but the data holds "
                f"{len(segments)}: directory damaged"
            )
        order = sorted(range(len(entries)), key=lambda k: entries[k][2])
        fields = [("", b"")] * len(entries)
        for segment, k in zip(segments, order, strict=True):
            fields[k] = (entries[k][0], segment)
        warnings.append("directory lengths or offsets are wrong; fields recovered by terminators")
        exact = False
    if leader[10:12] != "22" or leader[20:24] != "4500":
        warnings.append(
            f"leader positions 10-11/20-23 are {leader[10:12]!r}/{leader[20:24]!r}, "
            "not '22'/'4500'; fixed"
        )
        exact = False
    return RawRecord(leader, fields, warnings, exact)


def serialize(leader: str, fields: Sequence[tuple[str, bytes]], name: object = "record") -> bytes:
    """Assemble ISO 2709 bytes from a leader and encoded fields (terminators not included).

    ``name`` says which record an error is about (anything printable: it is only formatted
    when a record cannot be written).

    Record length, base address and leader positions 10-11, 20-23 are set here. Raises
    :class:`RecordTooLarge` rather than write a record or field whose length does not fit.
    """
    directory = bytearray()
    data = bytearray()
    for tag, body in fields:
        length = len(body) + 1
        if length > MAX_FIELD_LENGTH:
            raise RecordTooLarge(
                f"{name}: field {tag} is {length:,} bytes; ISO 2709 allows at most "
                f"{MAX_FIELD_LENGTH:,}"
            )
        directory += f"{tag}{length:04d}{len(data):05d}".encode("ascii")
        data += body
        data.append(FIELD_TERMINATOR)
    base = LEADER_LENGTH + len(directory) + 1
    total = base + len(data) + 1
    if total > MAX_RECORD_LENGTH:
        raise RecordTooLarge(
            f"{name} is {total:,} bytes; ISO 2709 allows at most {MAX_RECORD_LENGTH:,}"
        )
    lead = f"{total:05d}{leader[5:10]}22{base:05d}{leader[17:20]}4500"
    return lead.encode("ascii") + bytes(directory) + b"\x1e" + bytes(data) + b"\x1d"
