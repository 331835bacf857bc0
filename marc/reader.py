"""Reading MARC files of any common format and encoding, one result per record.

Contract
--------
:class:`MarcReader` opens a path or binary file object (gzip-compressed or not), detects its
format from the content (or takes ``format=``) and iterates :class:`ReadResult` objects, one
per record *in the input*, in order. A record that cannot be read does not stop the
iteration: its result has ``record=None`` and a ``reason`` written for a cataloguer, plus the
raw bytes so it can be handed back for repair. Memory use does not depend on the file size
(one record at a time; MARCXML is cut into records, each parsed on its own).

Every accepted record is Unicode NFC: MARC-8 is converted, a leader/09 that lies is caught
per record and reported in ``warnings``, and bytes in a national code page are detected and
rejected with a ``suggested_encoding`` (pass it as ``encoding=`` to convert them).
``marc`` holds canonical UTF-8 ISO 2709 bytes for storage: the input bytes themselves when
they already were valid NFC UTF-8 ISO 2709, so an export can be byte-identical.

Only :exc:`marc.errors.UnusableInput` (and :exc:`UnknownFormat` / :exc:`UnknownEncoding`
for bad arguments) is raised, and only when the file as a whole cannot be read.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pymarc
from pymarc import Field, Leader, Subfield

from marc import iso2709
from marc.encoding import canonical_encoding, decoder_for, detect
from marc.errors import InvalidRecord, RecordTooLarge, UnusableInput
from marc.fields import (
    CONTROL_TAGS,
    control_field,
    data_field,
    fields_from_iso2709,
    make_subfield,
    remove_nul,
)
from marc.formats import MarcInput, open_input
from marc.pickling import flat_pickle
from marc.validate import validate as validate_record
from marc.writer import record_to_iso2709


@flat_pickle
@dataclass(slots=True)
class ReadResult:
    """One record of the input, read or rejected.

    ``ordinal`` counts records from 1 in input order. ``offset`` is the byte offset of the
    record in the (decompressed) input (None for MARCXML converted from UTF-16 or UTF-32);
    for MARCXML ``line`` locates it too. ``raw`` is the record as it was in the input (a
    MARCXML record element that uses namespace declarations made around it is re-serialised
    with them; stray content between MARCXML records comes as a rejected result of its own).
    ``record`` is None exactly when ``reason`` is set.
    """

    ordinal: int
    offset: int | None
    raw: bytes
    record: pymarc.Record | None = None
    reason: str | None = None
    control_number: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: Canonical UTF-8 ISO 2709 bytes to store (None when rejected).
    marc: bytes | None = None
    #: Encoding the data was decoded from ("utf-8", "marc-8", "tcvn3"...), when known.
    encoding: str | None = None
    #: An ``encoding=`` value that would probably let this record be read.
    suggested_encoding: str | None = None
    line: int | None = None
    #: The record is a deletion (leader/05 ``d``).
    deleted: bool = False
    #: Every text of ``record`` is NFC and leader/09 is ``a`` (see :attr:`Decoded.normalized`).
    normalized: bool = False

    @property
    def ok(self) -> bool:
        """True when the record was read and passed validation."""
        return self.reason is None


@flat_pickle
@dataclass(slots=True)
class Decoded:
    """What a format module hands the reader for one record before validation."""

    offset: int | None
    raw: bytes
    record: pymarc.Record | None = None
    reason: str | None = None
    control_number: str | None = None
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None
    suggested_encoding: str | None = None
    line: int | None = None
    #: Input bytes already are the canonical form (valid NFC UTF-8 ISO 2709).
    canonical: bool = False
    #: Decoding still to do on ``raw`` ("iso2709" or "marcxml"): format modules only cut the
    #: input into records, so that the decoding can run in another process (:func:`finish`).
    pending: str | None = None
    #: The ``encoding=`` forced on an ISO 2709 record.
    forced: str | None = None
    #: How the record's bytes end in an ISO 2709 input: with the record terminator
    #: (:data:`marc.iso2709.TERMINATOR`) or why without (another record starts, the file ends).
    end: iso2709.End = iso2709.TERMINATOR
    #: The decoder brought every text to NFC and leader/09 to ``a`` as it read them (and
    #: :func:`finish` removes NULs), so the store need not look through the record again.
    normalized: bool = False
    #: Column (characters, from 1) where the record starts on :attr:`line` (MARCXML).
    column: int | None = None


class MarcReader:
    """Iterate the records of a MARC file; see the module docstring for the contract.

    ``format``: ``"auto"`` or one of ``iso2709``, ``marcxml``, ``json``, ``mrk``.
    ``encoding``: ``"auto"`` (leader/09 checked against the bytes) or an encoding applied
    to every record whatever its leader says (``utf-8``, ``marc-8``, ``tcvn3``, ``vni``,
    ``cp1251``, ``latin-1``...). ``validate``: run :func:`marc.validate.validate` and reject
    records with errors (a missing 245, bad indicators...).
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        format: str = "auto",
        encoding: str = "auto",
        validate: bool = True,
    ) -> None:
        self.encoding = canonical_encoding(encoding)
        self._input: MarcInput = open_input(source, format)
        self.format: str = self._input.format
        self.name: str = self._input.name
        if self.format in ("marcxml", "json") and self.encoding not in ("auto", "utf-8"):
            # Their text is Unicode already (XML declares its encoding, JSON is UTF-8): a
            # byte encoding asked for would be left unapplied, and the records stored as read.
            self.close()
            raise UnusableInput(
                f"{self.name}: the encoding {self.encoding} applies to ISO 2709 and MarcEdit "
                f".mrk files, whose bytes it decodes; this {self.format} file's text is "
                "Unicode already (import it without an encoding)"
            )
        #: Records are checked by :func:`marc.validate.validate` (rejected on errors).
        self.validate = validate
        #: How often each ``suggested_encoding`` came up so far (for a file-level hint).
        self.suggestions: Counter[str] = Counter()

    def __iter__(self) -> Iterator[ReadResult]:
        for ordinal, item in self.pieces(deferred=False):
            result = finish(ordinal, item, self.validate)
            self.note(result)
            yield result

    def pieces(self, deferred: bool = True) -> Iterator[tuple[int, Decoded]]:
        """The input cut into records, numbered from 1: give each to :func:`finish` (here, or
        in another process) and the result to :meth:`note`.

        ``deferred`` leaves the decoding of MARCXML records to :func:`finish` too (for another
        process); without it they are converted here from the parsed elements, which saves
        serialising and parsing each one again when everything runs in one process.
        """
        forced = None if self.encoding == "auto" else self.encoding
        if self.format == "iso2709":
            items = _iter_iso2709(self._input.stream, forced)
        elif self.format == "marcxml":
            from marc.marcxml import iter_marcxml

            items = iter_marcxml(self._input.stream, deferred)
        elif self.format == "json":
            from marc.marcjson import iter_json

            items = iter_json(self._input.stream)
        else:
            from marc.mrk import iter_mrk

            items = iter_mrk(self._input.stream, forced)
        count = 0
        try:
            for ordinal, item in enumerate(items, start=1):
                count = ordinal
                yield ordinal, item
        finally:
            self.close()
        if count == 0:
            raise UnusableInput(f"{self.name}: no MARC record found in this {self.format} file")

    def note(self, result: ReadResult) -> None:
        """Count ``result``'s encoding suggestion (for the file-level hint)."""
        if result.suggested_encoding:
            self.suggestions[result.suggested_encoding] += 1

    def close(self) -> None:
        """Close the input (also done when iteration ends)."""
        self._input.close()

    def __enter__(self) -> MarcReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def finish(ordinal: int, item: Decoded, validate: bool = True) -> ReadResult:
    """Decode (when still pending) and validate one record cut by :meth:`MarcReader.pieces`.

    Plain data in, plain data out: it may run in another process than the reader.
    """
    kind = item.pending
    if item.pending == "iso2709":
        notes = item.warnings  # the splitter's, about the bytes around the record
        item = decode_iso2709(item.raw, item.offset, item.forced, item.end)
        item.warnings[:0] = notes
    elif item.pending == "marcxml":
        from marc.marcxml import decode_pending

        item = decode_pending(item)
    result = ReadResult(
        ordinal=ordinal,
        offset=item.offset,
        raw=item.raw,
        record=None,
        reason=item.reason,
        control_number=item.control_number,
        warnings=item.warnings,
        encoding=item.encoding,
        suggested_encoding=item.suggested_encoding,
        line=item.line,
        normalized=item.normalized,
    )
    record = item.record
    if record is None:
        if result.reason is None:  # pragma: no cover - format modules always say why
            result.reason = "record could not be read"
        return result
    # A NUL shows in ISO 2709 bytes as a 0x00 byte; MARC-in-JSON and MarcEdit text spell it
    # as an escape or a mnemonic, so their records are looked through. XML cannot carry one.
    if kind != "marcxml" and (b"\x00" in item.raw if kind == "iso2709" else True):
        removed = remove_nul(record)
        if removed:
            item.canonical = False
            result.warnings.append(
                f"NUL characters removed from field(s) {', '.join(removed)}"
                " (a NUL is no text: databases and XML refuse it)"
            )
    cn = record.get("001")
    if cn is not None and cn.data:
        result.control_number = cn.data.strip() or result.control_number
    leader = str(record.leader)
    result.deleted = leader[5:6] == "d"
    if validate:
        errors, warnings = validate_record(record)
        result.warnings.extend(warnings)
        if errors:
            result.reason = "; ".join(errors)
            return result
    if item.canonical:
        result.marc = item.raw  # whose leader is the record's already
    else:
        try:
            result.marc = record_to_iso2709(record)
        except (RecordTooLarge, InvalidRecord) as exc:
            # Validation rejects such records first; read without it, they are still
            # rejected here rather than stopping the whole file.
            result.reason = str(exc)
            return result
        # The record's leader now says what the stored bytes say (lengths, base address).
        record.leader = Leader(result.marc[:24].decode("ascii"))
    result.record = record
    return result


def read(
    source: str | os.PathLike[str] | BinaryIO,
    format: str = "auto",
    encoding: str = "auto",
    validate: bool = True,
) -> Iterator[ReadResult]:
    """Shorthand for ``iter(MarcReader(...))``."""
    return iter(MarcReader(source, format=format, encoding=encoding, validate=validate))


# -- ISO 2709 ------------------------------------------------------------------------------


def _iter_iso2709(stream: BinaryIO, forced: str | None) -> Iterator[Decoded]:
    for piece in iso2709.split_records(stream):
        yield Decoded(
            offset=piece.offset,
            raw=piece.data,
            pending="iso2709",
            forced=forced,
            end=piece.end,
            warnings=piece.notes,
        )


def decode_iso2709(
    raw: bytes,
    offset: int | None = 0,
    forced: str | None = None,
    end: iso2709.End = iso2709.TERMINATOR,
) -> Decoded:
    """Decode one ISO 2709 record (bytes up to and including 0x1D) into a :class:`Decoded`.

    ``end`` is how the bytes were cut from the input (:attr:`marc.iso2709.Piece.end`).
    """
    if end == iso2709.TERMINATOR and (forced is None or forced == "utf-8"):
        clean = _decode_clean(raw)
        if clean is not None:
            clean.offset = offset
            return clean
    return _decode_field_by_field(raw, offset, forced, end)


def _decode_field_by_field(
    raw: bytes, offset: int | None, forced: str | None, end: iso2709.End = iso2709.TERMINATOR
) -> Decoded:
    """:func:`decode_iso2709` for any record: each step checked, repairs made and said."""
    item = Decoded(offset=offset, raw=raw)
    try:
        parsed = iso2709.parse(raw, end)
    except iso2709.StructureError as exc:
        item.reason = str(exc)
        item.control_number = iso2709.control_number(raw)
        return item
    item.warnings.extend(parsed.warnings)
    # Take fields apart into byte strings first: the encoding is decided on all of them.
    layout: list[tuple[str, str | None, list[tuple[str, bytes]] | bytes]] = []
    chunks: list[bytes] = []
    for tag, body in parsed.fields:
        if tag in CONTROL_TAGS:
            layout.append((tag, None, body))
            chunks.append(body)
            continue
        parts = body.split(b"\x1f")
        indicators = parts[0]
        if len(indicators) != 2:
            item.reason = f"field {tag} has {len(indicators)} indicator character(s) instead of 2"
            break
        try:
            ind = indicators.decode("ascii")
        except UnicodeDecodeError:
            item.reason = f"field {tag} has indicators that are not ASCII ({indicators!r})"
            break
        subfields: list[tuple[str, bytes]] = []
        for part in parts[1:]:
            if not part:
                item.warnings.append(f"field {tag}: empty subfield dropped")
                parsed.exact = False
                continue
            code = part[0]
            if code < 0x21 or code > 0x7E:
                item.reason = (
                    f"field {tag} has a subfield code that is not a letter or digit "
                    f"(byte 0x{code:02X})"
                )
                break
            subfields.append((chr(code), part[1:]))
            chunks.append(part[1:])
        if item.reason:
            break
        layout.append((tag, ind, subfields))
    if item.reason:
        item.control_number = iso2709.control_number(raw)
        return item
    leader = parsed.leader
    leader09 = leader[9]
    encoding = forced
    texts: list[str] | None = None  # the chunks decoded, once known to be UTF-8
    if encoding is None:
        if leader09 == "a":
            try:
                texts = [chunk.decode("utf-8") for chunk in chunks]
                encoding = "utf-8"
            except UnicodeDecodeError:
                encoding = None
        if encoding is None:
            verdict = detect(chunks, leader09)
            item.warnings.extend(verdict.warnings)
            item.suggested_encoding = verdict.suggestion
            if verdict.encoding is None:
                item.reason = verdict.reason
                if verdict.suggestion:
                    item.reason += f"; try --encoding {verdict.suggestion}"
                item.control_number = iso2709.control_number(raw)
                return item
            encoding = verdict.encoding
    elif encoding == "utf-8":
        try:
            texts = [chunk.decode("utf-8") for chunk in chunks]
        except UnicodeDecodeError as exc:
            item.reason = f"invalid UTF-8 ({exc.reason} at byte {exc.start} of a field)"
            item.control_number = iso2709.control_number(raw)
            return item
    item.encoding = encoding
    changed = False
    if encoding == "utf-8":
        if texts is None:  # the detector's verdict
            texts = [chunk.decode("utf-8") for chunk in chunks]
        nfc = unicodedata.normalize
        for i, text in enumerate(texts):
            if not text.isascii() and not unicodedata.is_normalized("NFC", text):
                texts[i] = nfc("NFC", text)
                changed = True
    else:
        decode = decoder_for(encoding)
        texts = [decode(chunk) for chunk in chunks]
        changed = True
    # The texts come in the order the chunks were cut: the layout's, field by field.
    text_of = iter(texts).__next__
    fields: list[Field] = []
    for tag, ind, content in layout:
        if ind is None:
            fields.append(control_field(tag, text_of()))
        else:
            assert isinstance(content, list)
            fields.append(
                data_field(
                    tag,
                    ind[0],
                    ind[1],
                    [make_subfield(Subfield, (code, text_of())) for code, _ in content],
                )
            )
    if encoding != "utf-8" or leader09 != "a":
        leader = leader[:9] + "a" + leader[10:]
        changed = True
    item.record = _record(leader, fields)
    item.canonical = parsed.exact and not changed
    item.normalized = True  # every decoder above gives NFC; leader/09 is "a"
    return item


def _record(leader: str, fields: list[Field]) -> pymarc.Record:
    record = pymarc.Record(force_utf8=True)
    record.leader = Leader(leader)  # keep 10-11/20-23 as read; the writer fixes them
    record.fields = fields  # type: ignore[assignment]
    return record


# A subfield delimiter not followed by a code the byte-level reader accepts (0x21-0x7E):
# an empty subfield, a bad code, a delimiter ending a field.
_BAD_SUBFIELD = re.compile("\\x1f(?![\\x21-\\x7e])")


def _decode_clean(raw: bytes) -> Decoded | None:
    """:func:`decode_iso2709` for a record that needs none of its repairs, or None.

    Most records of a bulk load are well formed UTF-8, NFC, with the data in directory
    order. For those, the data area is decoded and checked in one piece, and cut into
    fields and subfields as text, rather than field by field and subfield by subfield.
    Anything unusual (a length, offset or terminator off, another encoding, text that is
    not NFC, an empty subfield...) returns None and goes the long way, which says what is
    wrong. Where both apply they give the same record.
    """
    size = len(raw)
    # leader/09 "a", the record terminator, an ASCII leader
    if size < 26 or raw[9] != 0x61 or raw[-1] != 0x1D or not raw[:24].isascii():
        return None
    leader = raw[:24].decode("ascii")
    if (
        leader[10:12] != "22"
        or leader[20:24] != "4500"
        or not leader[:5].isdigit()
        or int(leader[:5]) != size
        or not leader[12:17].isdigit()
    ):
        return None
    base = int(leader[12:17])
    if raw.find(b"\x1e", iso2709.LEADER_LENGTH) != base - 1:
        return None
    if not iso2709.DIRECTORY.fullmatch(raw, iso2709.LEADER_LENGTH, base - 1):
        return None
    directory = raw[iso2709.LEADER_LENGTH : base - 1].decode("ascii")
    data = raw[base:-1]
    pieces = data.split(b"\x1e")
    if pieces.pop() != b"" or len(pieces) * 12 != len(directory):
        return None
    # The data must hold the fields one after the other, in directory order, each as long
    # as its entry says: then field k is piece k. An entry's length and start, read as one
    # nine-digit number, are length * 100000 + start.
    at = 0
    position = 3  # where the first entry's length and start begin
    for piece in pieces:
        length = len(piece) + 1
        if int(directory[position : position + 9]) != length * 100_000 + at:
            return None
        at += length
        position += 12
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # NFC as a whole means NFC piece by piece: the delimiters and the subfield codes
    # around each piece are ASCII characters that compose with nothing.
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        return None
    if "\x1f" in text and _BAD_SUBFIELD.search(text):
        return None
    bodies = text.split("\x1e")
    bodies.pop()
    fields = fields_from_iso2709(
        [directory[k : k + 3] for k in range(0, len(directory), 12)], bodies
    )
    if fields is None:
        return None
    return Decoded(
        offset=None,
        raw=raw,
        record=_record(leader, fields),
        encoding="utf-8",
        canonical=True,
        normalized=True,
    )
