"""Reading MARC-in-JSON as a stream.

Accepted layouts: one record object, a JSON array of record objects (what pymarc and
``yaz-marcdump -o json`` write), or one object per line (newline-delimited). Objects are
decoded one at a time from a sliding buffer, so memory holds one record, not the file. A
record that is not valid JSON is rejected and reading resumes at the next ``{"leader"``.

Record shape (pymarc's)::

    {"leader": "...", "fields": [{"001": "..."},
                                 {"245": {"ind1": "1", "ind2": "0",
                                          "subfields": [{"a": "..."}]}}]}
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import pymarc
from pymarc import Field, Indicators, Leader, Subfield

from marc.marcxml_writer import nfc
from marc.reader import Decoded

_CHUNK = 1 << 16
_MAX_RECORD = 16 * 1024 * 1024
_RESYNC = re.compile(r'\{\s*"leader"')
_SKIP = " \t\r\n,[]\ufeff"


def dict_to_record(obj: Any) -> tuple[pymarc.Record | None, str | None, list[str]]:
    """Convert one MARC-in-JSON object; returns (record, rejection reason, warnings)."""
    warnings: list[str] = []
    if not isinstance(obj, dict):
        return None, f"expected a JSON object for a record, found {type(obj).__name__}", warnings
    leader = obj.get("leader")
    if not isinstance(leader, str):
        return None, "record has no leader", warnings
    if "^" in leader:
        # Some tools print blanks as carets (the LC display convention); never valid here.
        leader = leader.replace("^", " ")
        warnings.append("leader blanks written as '^' read as spaces")
    if len(leader) != 24 or not leader.isascii():
        return None, f"leader is {len(leader)} characters, not 24 ({leader!r})", warnings
    raw_fields = obj.get("fields")
    if not isinstance(raw_fields, list):
        return None, 'record has no "fields" array', warnings
    fields: list[Field] = []
    for position, entry in enumerate(raw_fields, start=1):
        if not isinstance(entry, dict) or len(entry) != 1:
            return None, f"field {position} is not an object with one tag", warnings
        ((tag, value),) = entry.items()
        if isinstance(value, str):
            fields.append(Field(tag=tag, data=nfc(value)))
            continue
        if not isinstance(value, dict):
            return None, f"field {tag} is neither text nor an object", warnings
        subs = value.get("subfields")
        if not isinstance(subs, list):
            return None, f"field {tag} has no subfields array", warnings
        subfields: list[Subfield] = []
        for sub in subs:
            if not isinstance(sub, dict) or len(sub) != 1:
                return None, f"field {tag} has a malformed subfield", warnings
            ((code, text),) = sub.items()
            if not isinstance(text, str):
                return None, f"field {tag} ${code} is not text", warnings
            subfields.append(Subfield(code, nfc(text)))
        ind1 = value.get("ind1", " ")
        ind2 = value.get("ind2", " ")
        if not isinstance(ind1, str) or not isinstance(ind2, str) or len(ind1) > 1 or len(ind2) > 1:
            return None, f"field {tag} has malformed indicators", warnings
        fields.append(
            Field(tag=tag, indicators=Indicators(ind1 or " ", ind2 or " "), subfields=subfields)
        )
    record = pymarc.Record(force_utf8=True)
    record.leader = Leader(leader[:9] + "a" + leader[10:])
    record.fields = fields  # type: ignore[assignment]
    return record, None, warnings


def iter_json(stream: BinaryIO) -> Iterator[Decoded]:
    """Yield one :class:`marc.reader.Decoded` per record object in a MARC-in-JSON stream."""
    decoder = json.JSONDecoder()
    buf = _TextBuffer(stream)
    while True:
        pos = buf.skip(_SKIP)
        if pos < 0:
            return
        offset = buf.byte_offset(pos)
        while True:
            try:
                obj, end = decoder.raw_decode(buf.text, pos)
                error = None
            except json.JSONDecodeError as exc:
                # Perhaps only cut by the buffer's edge: read more and retry.
                grew = len(buf.text) - pos < _MAX_RECORD and buf.more()
                pos = buf.start  # more() may have moved the text
                if grew:
                    continue
                error = exc
            except (RecursionError, ValueError) as exc:
                # Hostile or broken input that is valid JSON syntax all the same: nesting
                # deeper than Python's recursion limit, or a number of thousands of digits
                # (int conversion is capped). The record cannot be read; the next one can.
                error = exc
            break
        if error is not None:
            end = _resync(buf.text, pos + 1)
            if isinstance(error, json.JSONDecodeError):
                reason = f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
            elif isinstance(error, RecursionError):
                reason = "not usable JSON: nested too deeply"
            else:
                reason = f"not usable JSON: {error}"[:300]
            yield Decoded(offset=offset, raw=buf.text[pos:end].encode("utf-8"), reason=reason)
            buf.consume(end)
            continue
        raw = buf.text[pos:end].encode("utf-8")
        buf.consume(end)
        record, reason, warnings = dict_to_record(obj)
        item = Decoded(
            offset=offset,
            raw=raw,
            record=record,
            reason=reason,
            warnings=warnings,
            encoding="utf-8",
        )
        if record is None and isinstance(obj, dict):
            for entry in obj.get("fields") or []:
                if isinstance(entry, dict) and isinstance(entry.get("001"), str):
                    item.control_number = entry["001"].strip() or None
                    break
        yield item


def _resync(text: str, start: int) -> int:
    match = _RESYNC.search(text, start)
    return match.start() if match else len(text)


class _TextBuffer:
    """Decoded text of a UTF-8 byte stream from the current record on.

    ``start`` is where unconsumed text begins in ``text``; consumed text is dropped in
    bulk when a new chunk is read, so each record is not a copy of the whole buffer.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.text = ""
        self.start = 0
        self._offset = 0  # byte offset of text[start]

    def more(self) -> bool:
        data = self._stream.read(_CHUNK)
        if self.start:
            self.text = self.text[self.start :]
            self.start = 0
        if not data:
            tail = self._decoder.decode(b"", final=True)
            self.text += tail
            return bool(tail)
        self.text += self._decoder.decode(data)
        return True

    def skip(self, chars: str) -> int:
        """Index in ``text`` of the next character not in ``chars``; -1 at the end."""
        while True:
            pos = self.start
            text = self.text
            while pos < len(text) and text[pos] in chars:
                pos += 1
            if pos < len(text):
                self.consume(pos)
                return pos
            self.consume(pos)
            if not self.more():
                return -1

    def byte_offset(self, pos: int) -> int:
        """Byte offset in the stream of ``text[pos]``."""
        return self._offset + len(self.text[self.start : pos].encode("utf-8"))

    def consume(self, end: int) -> None:
        """Mark ``text`` up to ``end`` as used."""
        self._offset += len(self.text[self.start : end].encode("utf-8"))
        self.start = end
