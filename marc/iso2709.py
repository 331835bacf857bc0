"""ISO 2709 (binary MARC) at the byte level: splitting a stream into records, taking one
record apart into leader and fields, and putting one together.

Nothing here decodes text; :mod:`marc.reader` does that. Records are split on the record
terminator (0x1D) rather than on the leader's length, so one record with a bad length costs
only that record, not the rest of the file. The leader, checked against the directory that
follows it, serves only to catch what the terminators alone get wrong: a record that lost
its terminator (another record starts before the next 0x1D) and a 0x1D inside a record's
data (the leader's length or the directory puts the record's end past it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Final, Literal

from marc.errors import RecordTooLarge, UnusableInput

RECORD_TERMINATOR = 0x1D
FIELD_TERMINATOR = 0x1E
SUBFIELD_DELIMITER = 0x1F
LEADER_LENGTH = 24
MAX_RECORD_LENGTH = 99_999
MAX_FIELD_LENGTH = 9_999
#: A "record" with no terminator within this many bytes is not ISO 2709: give up on it.
MAX_SCAN = 4 * 1024 * 1024
_CHUNK = 1 << 16
_GAP = b" \t\r\n\x00\x1a"  # what files put between records: newlines, padding, Ctrl-Z
_GAP_RUN = re.compile(b"[" + re.escape(_GAP) + b"]*")
_TAG = re.compile(rb"[0-9A-Za-z]{3}")
_ENTRY = _TAG.pattern + rb"[0-9]{9}"
#: A whole directory of well-formed entries: a tag, then the field's length and start.
DIRECTORY = re.compile(rb"(?:" + _ENTRY + rb")+")
#: Leader positions 0-16 as far as reading goes: the record length (group 1), positions
#: 5-11 and the base address (group 2). Real files have all sorts of bytes at 5-11 (a
#: leader/09 of 0x14, 10-11 of "  " or "0a"), so only the delimiters are excluded there.
LEADER_START = re.compile(rb"(\d{5})[^\x1d\x1e\x1f]{7}(\d{5})")
#: A leader (positions 17-23 have 0x01 and 0x02 in real files too) and a first directory
#: entry: what the start of a record looks like when looking for one inside a piece.
_RECORD_START = re.compile(LEADER_START.pattern + rb"[^\x1d\x1e\x1f]{7}" + _ENTRY)

End = Literal["terminator", "next record", "end of input", "size limit"]
#: How a piece ends: with its record terminator (0x1D), as it should...
TERMINATOR: Final = "terminator"
#: ... or without one, because the next record starts there (this one lost its terminator,
#: or its end),
NEXT_RECORD: Final = "next record"
#: because the stream ends there (a truncated file),
END_OF_INPUT: Final = "end of input"
#: or because there was no terminator and no record start within :data:`MAX_SCAN` bytes.
SIZE_LIMIT: Final = "size limit"


@dataclass(slots=True)
class Piece:
    """One record's bytes as cut from the stream, at byte ``offset`` of it.

    ``end`` says how the bytes end (:data:`TERMINATOR` or why there is none). ``notes`` are
    warnings about the stream around the record (bytes that are no MARC data skipped after
    it, or before it when it is the first).
    """

    offset: int
    data: bytes
    end: End = TERMINATOR
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """The piece ends with its record terminator."""
        return self.end == TERMINATOR


class _Input:
    """The part of a binary stream not cut yet: ``data[pos:]``, at stream offset
    ``base + pos``, read a chunk at a time."""

    __slots__ = ("base", "chunk", "clear", "data", "eof", "pos", "stream")

    def __init__(self, stream: BinaryIO, chunk: int) -> None:
        self.stream = stream
        self.chunk = chunk
        self.data = b""
        self.pos = 0
        self.base = 0
        self.eof = False
        #: Stream offset up to which there is no 0x1D (spares searching it again).
        self.clear = 0

    def need(self, size: int) -> bool:
        """Read until ``size`` bytes are not cut yet; False when the stream ends first."""
        have = len(self.data) - self.pos
        if have >= size:
            return True
        if self.eof:
            return False
        parts = [self.data[self.pos :]]
        while have < size:
            chunk = self.stream.read(max(self.chunk, size - have))
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.base += self.pos
        self.data = b"".join(parts)
        self.pos = 0
        return have >= size

    def more(self) -> bool:
        """Read one more chunk; False at the end of the stream."""
        return self.need(len(self.data) - self.pos + 1)


def split_records(stream: BinaryIO, chunk_size: int = _CHUNK) -> Iterator[Piece]:
    """Cut a binary stream into one piece per record, holding about two records (plus one
    read chunk) in memory.

    A piece ends at the first 0x1D after its start, except:

    * when a record starts before that 0x1D (a leader whose base address is right after a
      directory of well-formed entries): the piece ends there, without a terminator
      (:data:`NEXT_RECORD`). So does it when the piece's own leader and directory agree on
      a length that ends before the 0x1D and a leader starts there (or a byte before): the
      next record lost its terminator *and* has a damaged directory;
    * when the 0x1D lies inside the data, as the leader's length (pointing at a later 0x1D)
      or the directory (laying the data out past it, no leader after it) say, and no record
      starts before the later 0x1D: the piece goes on to that one.

    What files put between records (newlines, NULs, Ctrl-Z, spaces) is skipped. Other bytes
    between records that cannot be a record (no field terminator, and no leader or too short
    for one) are skipped too, and said in a note on the record before them (after them, at
    the start of the stream): they are no record to count or reject.
    """
    src = _Input(stream, chunk_size)
    pending: Piece | None = None
    skipped: list[int] = []  # first and end stream offsets of bytes skipped as no MARC
    try:
        while True:
            data, pos = src.data, src.pos
            if pos < len(data) and data[pos] in _GAP:
                after = _GAP_RUN.match(data, pos).end()  # type: ignore[union-attr]
                if len(data) - after >= LEADER_LENGTH and data[after - 1] != 0x20:
                    src.pos = pos = after  # the usual newline between records
            if len(data) - pos < LEADER_LENGTH or data[pos] in _GAP:
                if not _skip_gap(src):
                    break
                if src.data[src.pos] == 0x20:
                    _leader_in_spaces(src)
                src.need(LEADER_LENGTH)
                data, pos = src.data, src.pos
            head = data[pos : pos + 5]
            declared = int(head) if head.isdigit() else 0
            if declared > LEADER_LENGTH:
                end = pos + declared
                if end > len(data):
                    src.need(declared)
                    data, pos = src.data, src.pos
                    end = pos + declared
                # the usual case: the first 0x1D is where the leader says the record ends
                if data.find(b"\x1d", pos, end) == end - 1:
                    piece = Piece(src.base + pos, data[pos:end])
                    src.pos = end
                    if skipped:
                        _note_skipped(pending, piece, skipped)
                    if pending is not None:
                        yield pending
                    pending = piece
                    continue
            size, how = _cut(src, declared)
            data, pos = src.data, src.pos
            src.pos = pos + size
            body = data[pos : pos + size]
            if b"\x1e" not in body and (
                not body[:5].isdigit() or (how == NEXT_RECORD and size < LEADER_LENGTH)
            ):
                # Not a record: no field, and no leader (a doubled 0x1D, text, padding) or too
                # short for one before the next record (a length written twice). At the end of
                # the input, digits are the start of a leader: a record cut short, reported.
                if not skipped:
                    skipped[:] = [src.base + pos, 0]
                skipped[1] = src.base + pos + size
                continue
            piece = Piece(src.base + pos, body, how)
            if skipped:
                _note_skipped(pending, piece, skipped)
            if pending is not None:
                yield pending
            pending = piece
    except UnusableInput:
        # The stream failed part-way (a damaged gzip stream): the record in hand arrived
        # whole and is handed on before the failure is.
        if pending is not None:
            yield pending
        raise
    if skipped and pending is not None:
        _note_skipped(pending, None, skipped)
    if pending is not None:
        yield pending


#: Spaces that may begin a leader: a blank record length, then blank positions 5-11.
_LEADER_SPACES = 12


def _skip_gap(src: _Input) -> bool:
    """Move past what files put between records, up to the next other byte but for the
    last spaces (see :func:`_leader_in_spaces`); False at the end of the input."""
    while True:
        data, pos = src.data, src.pos
        after = _GAP_RUN.match(data, pos).end()  # type: ignore[union-attr]
        if after < len(data):
            other = after
            while after > pos and data[after - 1] == 0x20 and other - after < _LEADER_SPACES:
                after -= 1
            src.pos = after
            return True
        src.pos = max(pos, after - _LEADER_SPACES)  # what follows may be a leader's
        if not src.more():
            return False


def _leader_in_spaces(src: _Input) -> None:
    """Move past the spaces at ``src.pos``, or to the one that starts the record when its
    record length is blank or padded with spaces ("  755"), as some programs write it:
    where the base address is right after a directory, as in :func:`_directory_end`."""
    src.need(_LEADER_SPACES + LEADER_LENGTH)
    data, pos = src.data, src.pos
    first = _GAP_RUN.match(data, pos).end() - pos  # type: ignore[union-attr]
    if not LEADER_START.match(data, pos + first):
        for start in range(first - 1, -1, -1):
            digits = data[pos + first : pos + start + 5]
            base = data[pos + start + 12 : pos + start + 17]
            if (digits.isdigit() or not digits) and base.isdigit():
                end = start + int(base) - 1  # of the directory
                src.need(end + 1)
                data, pos = src.data, src.pos
                if (
                    LEADER_LENGTH < end < len(data) - pos
                    and data[pos + end] == FIELD_TERMINATOR
                    and DIRECTORY.fullmatch(data, pos + start + LEADER_LENGTH, pos + end)
                ):
                    src.pos = pos + start
                    return
    src.pos = pos + first


def _note_skipped(before: Piece | None, after: Piece | None, skipped: list[int]) -> None:
    """Say on the record before them (else after) which bytes were skipped as no MARC."""
    first, end = skipped
    what = f"{end - first:,} byte(s) that are not MARC data (at byte {first:,}); skipped"
    if before is not None:
        before.notes.append(f"followed by {what}")
    elif after is not None:
        after.notes.append(f"preceded by {what}")
    skipped.clear()


def _cut(src: _Input, declared: int) -> tuple[int, End]:
    """Size and end of the piece at ``src.pos`` when the first 0x1D is not where the
    leader's length (``declared``, 0 when not a number) says the record ends."""
    # the first 0x1D, the boundary to trust...
    end = _find_terminator(src) + 1  # 0: none
    data, pos = src.data, src.pos
    own = _directory_end(data, pos, pos + (end or len(data) - pos)) - pos  # < 0: none
    if end and own > 0 and own + 2 + _field_end(data, pos + own - 12) == end:
        # The last field the directory lists ends right before the 0x1D: the bytes up to it
        # are this record's, only the leader's length is wrong (a program that counted
        # characters, not bytes, say).
        return end, TERMINATOR
    by_directory = _size_by_directory(data, pos, own) if own > 0 else 0  # the record's size
    # ... unless it is inside the record's data: the leader's length points at a later
    # 0x1D, or the directory lays the data out past it
    longer = 0
    if end and declared > end and src.need(declared):
        data, pos = src.data, src.pos
        if data[pos + declared - 1] == RECORD_TERMINATOR:
            longer = declared
    if end and not longer and by_directory > end:
        longer = _past_stray_terminators(src, by_directory, end)
    data, pos = src.data, src.pos
    # ... or a record starts before it: this one lost its terminator
    limit = pos + (longer or end or min(len(data) - pos, MAX_SCAN))
    following = _next_record(data, pos + (own + 1 if own > 0 else 1), limit) - pos
    if longer and following < 0:
        return longer, TERMINATOR
    if following > 0 and (not end or following < end):
        return following, NEXT_RECORD
    if (
        following < 0
        and own > 0
        and declared > LEADER_LENGTH
        and (declared < end or not end)
        and by_directory == declared
    ):
        # The next record's directory is damaged, so it was not seen; but this record's
        # leader and directory agree on where it ends, and a leader starts there (or one
        # byte before, when the terminator was dropped rather than overwritten).
        for size in (declared, declared - 1):
            if LEADER_START.match(data, pos + size):
                return size, NEXT_RECORD
    if end:
        return end, TERMINATOR
    if src.eof and len(data) - pos <= MAX_SCAN:
        return len(data) - pos, END_OF_INPUT
    return MAX_SCAN, SIZE_LIMIT


def _find_terminator(src: _Input, start: int = 0) -> int:
    """Index (from ``src.pos``) of the first 0x1D at ``start`` or after, reading on as
    needed; -1 when there is none within :data:`MAX_SCAN` bytes of ``src.pos``."""
    while True:
        data, pos = src.data, src.pos
        # a file with no terminators at all is searched once, not once per record
        begin = max(pos, src.clear - src.base) if start == 0 else pos + start
        found = data.find(b"\x1d", begin)
        if found >= 0:
            return found - pos
        if start == 0:
            src.clear = src.base + len(data)
        if len(data) - pos >= MAX_SCAN or not src.more():
            return -1


def _size_by_directory(data: bytes, pos: int, own: int) -> int:
    """The size of the record at ``pos`` (terminator included) by its directory, which
    ends at ``pos + own``: where its last field ends, plus one."""
    last = max(_field_end(data, at) for at in range(pos + LEADER_LENGTH, pos + own, 12))
    return own + 2 + last


def _field_end(data: bytes, entry: int) -> int:
    """Where the field of the directory entry at ``entry`` ends: its start plus its length
    (from the base address)."""
    return int(data[entry + 7 : entry + 12]) + int(data[entry + 3 : entry + 7])


def _past_stray_terminators(src: _Input, by_directory: int, end: int) -> int:
    """The size of the record at ``src.pos`` when the 0x1D that ends it at ``end`` lies
    before the end its directory gives it (``by_directory``) and no leader follows it: up
    to the next 0x1D that is not so. 0 when the first 0x1D looks like the real end.

    A 0x1D inserted into the data moves the real end one byte past where the lengths say,
    which is why the next 0x1D is taken rather than the one the directory points at.
    """
    size = end
    while size < by_directory:
        while True:  # what follows the 0x1D, past newlines and padding
            data, pos = src.data, src.pos
            after = _GAP_RUN.match(data, pos + size).end()  # type: ignore[union-attr]
            if after + LEADER_LENGTH <= len(data) or not src.more():
                break
        if after >= len(data) or LEADER_START.match(data, after):
            break  # the end of the input, or a record: the 0x1D was a terminator
        found = _find_terminator(src, size)
        if found < 0:
            break
        size = found + 1
    return size if size != end else 0


def _directory_end(data: bytes, pos: int, limit: int) -> int:
    """Index of the directory's terminator when a record starts at ``pos``: a leader whose
    base address is right after a directory of well-formed entries, all before ``limit``.
    -1 when none does.

    Only the digits of the leader are checked: its other positions are wrong in too many
    real files. The directory is what makes a record start unmistakable: a run of 12-byte
    entries ending in 0x1E exactly where the base address says.
    """
    match = _RECORD_START.match(data, pos, limit)
    if match is None:
        return -1
    end = pos + int(match[2]) - 1
    if (
        end < limit
        and data[end] == FIELD_TERMINATOR
        and DIRECTORY.fullmatch(data, pos + LEADER_LENGTH, end)
    ):
        return end
    return -1


def _next_record(data: bytes, pos: int, limit: int) -> int:
    """Index of the first record start in ``data[pos:limit]`` (see :func:`_directory_end`),
    or -1."""
    while True:
        match = _RECORD_START.search(data, pos, limit)
        if match is None:
            return -1
        start = match.start()
        if _directory_end(data, start, limit) > 0:
            return start
        pos = start + 1


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


#: Why a record without its terminator cannot be read, by how its piece ends.
_CUT_SHORT: dict[str, str] = {
    NEXT_RECORD: "record breaks off where another record begins: the rest of it is missing",
    END_OF_INPUT: "file ends in the middle of a record (truncated file?)",
    SIZE_LIMIT: f"no record terminator within {MAX_SCAN:,} bytes: this is not MARC data",
}


def parse(data: bytes, end: End = TERMINATOR) -> RawRecord:
    """Take one record apart. Raises :class:`StructureError` with a reason a cataloguer
    can act on when the record cannot be read at all.

    ``end`` is the piece's (see :class:`Piece`): a record without its terminator is read
    when nothing but the terminator is missing.
    """
    warnings: list[str] = []
    exact = True
    if end == TERMINATOR:
        if not data or data[-1] != RECORD_TERMINATOR:  # pragma: no cover - split on 0x1D
            raise StructureError("record terminator missing")
        body = data[:-1]
    else:
        # Tools that "fix" files turn the 0x1D into a newline or drop it; then the record
        # still ends with its last field's terminator.
        body = data.rstrip(_GAP)
        if body.endswith(b"\x1e"):
            warnings.append("record terminator missing; added")
        elif body[-2:-1] == b"\x1e" and body[:5].isdigit() and int(body[:5]) == len(body):
            # one other byte where the leader's length puts the terminator: overwritten
            warnings.append(f"record terminator is byte 0x{body[-1]:02X}, not 0x1D; fixed")
            body = body[:-1]
        else:
            raise StructureError(_CUT_SHORT[end])
        exact = False
    if len(body) < LEADER_LENGTH + 1:
        raise StructureError(f"record too short to be MARC ({len(data)} bytes)")
    try:
        leader = body[:LEADER_LENGTH].decode("ascii")
    except UnicodeDecodeError:
        raise StructureError("leader contains non-ASCII bytes") from None
    real_length = len(body) + 1  # with the terminator, added or not
    if not leader[:5].isdigit():
        warnings.append(f"leader record length {leader[:5]!r} is not a number; recomputed")
        exact = False
    elif int(leader[:5]) != real_length:
        warnings.append(
            f"leader says the record is {int(leader[:5])} bytes, it is {real_length}; recomputed"
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
        if len(segments) < len(entries) and end != TERMINATOR:
            raise StructureError(_CUT_SHORT[end])
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
