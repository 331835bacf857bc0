"""Writing records: ISO 2709, MARCXML, MARC-in-JSON and MarcEdit ``.mrk``.

All output is UTF-8 and NFC. The writers never emit a broken record:

* ISO 2709 cannot hold a record over 99,999 bytes or a field over 9,999 bytes; such a
  record raises :class:`marc.errors.RecordTooLarge` (the streaming writer skips it and
  lists it in ``refused`` with the reason) instead of being written with wrapped lengths.
* MARCXML comes from :mod:`marc.marcxml_writer`, whose output always validates against
  MARC21slim.xsd: characters XML 1.0 cannot hold are removed (``stats["stripped"]`` counts
  them), what the schema cannot express is left out (``stats["dropped"]``), the leader is
  repaired.
* MARC-in-JSON is written as one JSON array in the shape pymarc reads and writes
  (``{"leader": ..., "fields": [{"245": {"ind1", "ind2", "subfields": [{"a": ...}]}}]}``).

A MARCXML document that left records out says so itself: it ends with an XML comment (after
the last record, which schema validation ignores) naming each refused record and why. The
other formats cannot carry a note (anything after the last ISO 2709 record or .mrk record
would read as a broken record, and a JSON array holds records only); their callers get
``refused`` and must report it another way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import BinaryIO

import pymarc

from marc import iso2709
from marc.errors import InvalidRecord, RecordTooLarge, UnknownFormat
from marc.marcxml_writer import (
    MARC_NS,
    SCHEMA_LOCATION,
    XSI_NS,
    marcxml_text,
    nfc,
    record_to_xml_element,
    xml_text,
)

WRITE_FORMATS = ("iso2709", "marcxml", "json", "mrk")


def _leader(record: pymarc.Record) -> str:
    leader = str(record.leader)
    if len(leader) != 24 or not leader.isascii():
        raise InvalidRecord(f"leader {leader!r} is not 24 ASCII characters")
    return leader[:9] + "a" + leader[10:]


def _name(record: pymarc.Record) -> str:
    f001 = record.get("001")
    if f001 is not None and f001.data:
        return f"record {f001.data.strip()}"
    return "record"


def record_to_iso2709(record: pymarc.Record, *, normalized: bool = False) -> bytes:
    """Serialise ``record`` as UTF-8 ISO 2709 (leader/09 ``a``).

    ``normalized`` says every text of the record is NFC already (as
    :func:`libext.store.normalize_record` leaves it), so it is not checked again.

    Raises :class:`RecordTooLarge` when a length does not fit the format, and
    :class:`InvalidRecord` for a tag that is not three characters.
    """
    encoded: list[tuple[str, bytes]] = []
    for f in record.fields:
        tag = f.tag
        if len(tag) != 3 or not tag.isascii():
            raise InvalidRecord(f"{_name(record)}: tag {tag!r} is not three characters")
        if f.control_field:
            data = f.data or ""
            body = (data if normalized else nfc(data)).encode("utf-8")
            delimiters = 0
        else:
            ind1, ind2 = f.indicators or (" ", " ")
            subfields = f.subfields
            if normalized:
                texts = ["\x1f" + code + (value or "") for code, value in subfields]
            else:
                texts = ["\x1f" + code + nfc(value or "") for code, value in subfields]
            body = ((ind1 or " ")[:1] + (ind2 or " ")[:1] + "".join(texts)).encode("utf-8")
            delimiters = len(subfields)
        # One 0x1F per subfield and no 0x1D/0x1E: anything else would not read back.
        if b"\x1d" in body or b"\x1e" in body or body.count(b"\x1f") != delimiters:
            _check_delimiters(record, f)
        encoded.append((tag, body))
    return iso2709.serialize(_leader(record), encoded, _LazyName(record))


class _LazyName:
    """The record's name for an error message, worked out only if a message is written."""

    __slots__ = ("record",)

    def __init__(self, record: pymarc.Record) -> None:
        self.record = record

    def __str__(self) -> str:
        return _name(self.record)


_DELIMITERS = re.compile("[\x1d\x1e\x1f]")


def _check_delimiters(record: pymarc.Record, f: pymarc.Field) -> None:
    texts = [f.data or ""] if f.control_field else [s.value or "" for s in f.subfields]
    codes = [] if f.control_field else [s.code or "" for s in f.subfields]
    if any(_DELIMITERS.search(t) for t in texts) or any(len(c) != 1 for c in codes):
        raise InvalidRecord(
            f"{_name(record)}: field {f.tag} holds a MARC delimiter (0x1D-0x1F) or a "
            "subfield code that is not one character; it cannot be written as ISO 2709"
        )


def record_to_dict(record: pymarc.Record) -> dict[str, object]:
    """MARC-in-JSON for ``record``: the dict pymarc's ``as_dict`` makes, in NFC."""
    fields: list[dict[str, object]] = []
    for f in record.fields:
        if f.control_field:
            fields.append({f.tag: nfc(f.data or "")})
        else:
            ind1, ind2 = f.indicators or (" ", " ")
            fields.append(
                {
                    f.tag: {
                        "ind1": ind1 or " ",
                        "ind2": ind2 or " ",
                        "subfields": [{s.code: nfc(s.value or "")} for s in f.subfields],
                    }
                }
            )
    return {"leader": _leader(record), "fields": fields}


def record_to_mrk(record: pymarc.Record) -> str:
    """MarcEdit mnemonic text for ``record`` (see :mod:`marc.mrk`)."""
    from marc.mrk import record_to_mrk as convert

    return convert(record)


class MarcWriter:
    """Stream records to a binary file in one format.

    ``write`` takes a pymarc Record (or, for ISO 2709, stored bytes that are written as
    they are, which keeps exports byte-identical). A record that cannot be written in the
    format is skipped and listed in ``refused`` as ``(name, reason)``; ``written`` counts
    the rest. Call :meth:`close` (or use ``with``) to finish the document.
    """

    def __init__(self, out: BinaryIO, fmt: str) -> None:
        if fmt not in WRITE_FORMATS:
            raise UnknownFormat(f"unknown format {fmt!r}; use one of: {', '.join(WRITE_FORMATS)}")
        self.out = out
        self.format = fmt
        self.written = 0
        self.refused: list[tuple[str, str]] = []
        self.stats: dict[str, int] = {"stripped": 0, "dropped": 0}
        self._closed = False
        if fmt == "marcxml":
            out.write(
                b'<?xml version="1.0" encoding="UTF-8"?>\n'
                b'<collection xmlns="'
                + MARC_NS.encode()
                + b'" xmlns:xsi="'
                + XSI_NS.encode()
                + b'" xsi:schemaLocation="'
                + SCHEMA_LOCATION.encode()
                + b'">\n'
            )
        elif fmt == "json":
            out.write(b"[")

    def write(self, record: pymarc.Record | None, marc: bytes | None = None) -> bool:
        """Write one record; returns False (and records why) when it had to be refused."""
        try:
            data = self._encode(record, marc)
        except (RecordTooLarge, InvalidRecord) as exc:
            self.refused.append((_name(record) if record is not None else "record", str(exc)))
            return False
        if self.format == "json" and self.written:
            self.out.write(b",\n")
        self.out.write(data)
        self.written += 1
        return True

    def _encode(self, record: pymarc.Record | None, marc: bytes | None) -> bytes:
        if self.format == "iso2709":
            if marc is not None:
                if len(marc) > iso2709.MAX_RECORD_LENGTH:
                    raise RecordTooLarge(f"stored record is {len(marc)} bytes")
                return marc
            assert record is not None
            return record_to_iso2709(record)
        if record is None:
            assert marc is not None
            from marc.reader import decode_iso2709

            decoded = decode_iso2709(marc, forced="utf-8")
            if decoded.record is None:
                raise InvalidRecord(f"stored record cannot be read: {decoded.reason}")
            record = decoded.record
        if self.format == "marcxml":
            return marcxml_text(record, stats=self.stats, prefix="", declare=False).encode() + b"\n"
        if self.format == "json":
            return json.dumps(record_to_dict(record), ensure_ascii=False).encode("utf-8")
        return (record_to_mrk(record) + "\n").encode("utf-8")

    def close(self) -> None:
        """Finish the document (closing tag or bracket; for MARCXML, after a comment naming
        the refused records if there are any). Does not close ``out``."""
        if self._closed:
            return
        self._closed = True
        if self.format == "marcxml":
            if self.refused:
                self.out.write(refusal_comment(self.written, self.refused))
            self.out.write(b"</collection>\n")
        elif self.format == "json":
            self.out.write(b"]\n")

    def __enter__(self) -> MarcWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refusal_comment(written: int, refused: list[tuple[str, str]]) -> bytes:
    """An XML comment saying which records a document left out and why, one per line."""
    lines = [f" Not written: {len(refused)} of {written + len(refused)} records."]
    lines += [f"{name}: {reason}" for name, reason in refused]
    text, _removed = xml_text("\n".join(lines))
    # A comment may not hold "--": a record's name (its 001) could otherwise end it early.
    text = re.sub("-(?=-)", "- ", text)
    return f"<!--{text}\n-->\n".encode()


def write_records(records: Iterable[pymarc.Record], out: BinaryIO, fmt: str) -> MarcWriter:
    """Write all ``records`` to ``out`` in ``fmt``; returns the finished writer (for its
    ``written`` / ``refused`` counts)."""
    writer = MarcWriter(out, fmt)
    with writer:
        for record in records:
            writer.write(record)
    return writer


__all__ = [
    "MARC_NS",
    "SCHEMA_LOCATION",
    "WRITE_FORMATS",
    "XSI_NS",
    "MarcWriter",
    "marcxml_text",
    "record_to_dict",
    "record_to_iso2709",
    "record_to_mrk",
    "record_to_xml_element",
    "refusal_comment",
    "write_records",
    "xml_text",
]
