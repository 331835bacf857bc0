"""Cutting a MARCXML byte stream into record elements, without parsing it as one document.

Why not parse the document: libxml2 reads a document as one tree. In recover mode an element
left open makes every later record a child of the broken one, a bare ``&`` or ``<`` is
repaired by dropping text, and errors come with a line number only, which cannot tell two
records on the same line apart. So :class:`Splitter` cuts the bytes into :class:`Piece` s,
each one ``record`` element exactly as written (start tag to its end tag), and
:mod:`marc.marcxml` parses each piece on its own with a strict parser. A broken record then
fails alone, cannot swallow or damage its neighbours, and its place is known exactly
(ordinal, byte offset, line and column).

The cutting reads markup only as far as it must, and never decides what a record holds:

* Outside records it follows start and end tags (for the namespaces in scope: a record's
  piece is parsed inside an element declaring them), comments, CDATA sections and
  processing instructions. A ``record`` element of the MARC 21 slim namespace or of no
  namespace starts a record, at any depth (OAI-PMH and SRU envelopes hold records deep
  down); so does a ``record`` whose prefix is not declared, or that sits in a collection
  (or is the root) in another namespace: both are rejected, not skipped.
* Inside a record only four things matter: the record's end tag, a comment, CDATA section
  or processing instruction (whose text may contain ``<record``), another record's start
  tag or the end tag of an element around the record. The last two mean the record was
  never closed: it is cut there, and the next record is read as usual.
* Anything in a ``collection`` other than records, white space, comments and processing
  instructions is not a record: stray text, a ``<datafield>`` outside a record, an end tag
  with no start, a record whose start tag was mangled. It is handed on as a piece that is
  no record, so that it is reported rather than lost.
* A comment or CDATA section outside records that holds record markup is reported too
  (records commented out, or a comment never closed), and one inside a record that holds
  the record's end tag is not trusted (a ``-->`` lost): in both cases what would otherwise
  vanish without a word is reported.
* A DOCTYPE before the root element is refused outright (:data:`DOCTYPE_REFUSED`):
  MARCXML never needs one, and it is how entity bombs and XXE arrive.

Memory stays bounded: the stream is read in chunks and only the piece being cut is kept, up
to :data:`MAX_RECORD_BYTES`. Encodings: UTF-8, and any encoding in which markup characters
are the ASCII bytes (ISO 8859, Windows code pages, Shift_JIS, GBK...), are cut as they are,
byte offsets being offsets in the file; UTF-16 and UTF-32 (told by a byte order mark or the
zero bytes around ``<``) and ISO 2022 encodings are first converted to UTF-8, and their
pieces have no byte offset.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from marc.errors import UnusableInput
from marc.marcxml_writer import MARC_NS

__all__ = ["DOCTYPE_REFUSED", "MAX_DEPTH", "MAX_RECORD_BYTES", "Piece", "Splitter"]

_MARC = MARC_NS.encode()
#: A record element larger than this is rejected unread (a MARC record holds at most
#: 99,999 bytes of data: even written out as XML it stays far below).
MAX_RECORD_BYTES = 16 << 20
#: Elements open around the records at most (libxml2's own default limit).
MAX_DEPTH = 256
#: How much of an oversized record or of stray content is kept to show.
_SHOWN = 1 << 16
_CHUNK = 1 << 18
#: A tag not complete within this many bytes is taken as broken, not as still coming.
_TAG_LIMIT = 1 << 16
#: Bytes to look at before telling what a ``<`` starts (``<![CDATA[`` is the longest).
_LOOKAHEAD = 16
#: Bytes scanned again after more input comes in: a tag may straddle two reads.
_OVERLAP = 1 << 10
#: Between records. NULs too: some systems pad exported files with them.
_BLANK = b" \t\r\n\x00"
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 bytes that start no character

DOCTYPE_REFUSED = (
    "MARCXML with a DOCTYPE is refused: DTDs and entity declarations are not allowed "
    "(they can read local files or expand without bound)"
)

_NAME_CHARS = rb"[^\s<>/!?=\"']+"
_START_TAG = re.compile(
    rb"<(" + _NAME_CHARS + rb")((?:\s+[^\s<>/=\"']+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*)\s*(/?)>"
)
_END_TAG = re.compile(rb"</(" + _NAME_CHARS + rb")\s*>")
_NAME = re.compile(rb"<(" + _NAME_CHARS + rb")")
_XMLNS = re.compile(rb"(xmlns(?::([^\s=]+))?)\s*=\s*(\"([^\"]*)\"|'([^']*)')")
#: A record start tag, any prefix: what a comment or CDATA section outside records must
#: not hold.
_RECORD_START = re.compile(rb"<(?:[^\s<>/!?=\"':]+:)?record(?=[\s/>])")
_DECLARATION = re.compile(rb"\s*<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([A-Za-z][\w.:\-]*)[\"']")
#: Markup as ASCII bytes: what an encoding must leave alone for its bytes to be cut as is.
_PROBE = "<?xml?><!--x--><![CDATA[]]></a:record xmlns=\"u\" b='v'>\t\r\n &amp;"
_CLOSERS = {"comment": b"-->", "cdata": b"]]>", "pi": b"?>"}


@dataclass(slots=True)
class Piece:
    """One ``record`` element as written, or content between records that is no record."""

    #: The bytes as in the input (converted to UTF-8 when :attr:`Splitter.transcoded`).
    data: bytes
    #: Byte offset of the piece in the input; None when the input was converted.
    offset: int | None
    #: Line and column (from 1; the column counts characters) where the piece starts.
    line: int
    column: int
    #: A start tag declaring the namespaces in scope around the record (parse the piece
    #: inside it; close it with ``</_>``).
    context: bytes
    #: A record element (else: stray content, described by :attr:`problem`).
    record: bool
    #: Why the piece cannot be read, known from the cutting alone (a record never closed,
    #: a file ending inside it...), or what the stray content is.
    problem: str | None = None
    #: Line and column :attr:`problem` refers to (a record cut short: where it was cut).
    where: tuple[int, int] | None = None
    #: The record element's namespace when it is neither MARC 21 slim nor none.
    namespace: bytes | None = None


@dataclass(slots=True)
class _Open:
    """An element open around the current position (outside records)."""

    qname: bytes
    collection: bool
    #: Namespaces in scope: prefix (b"" for the default) to URI.
    namespaces: dict[bytes, bytes]
    #: The declarations in scope as written, by prefix.
    declarations: dict[bytes, bytes]
    #: Start tag of an element declaring them (see :attr:`Piece.context`).
    context: bytes
    #: How to find the end of a record in this element, by the record's name.
    scanners: dict[bytes, _Scanner] = field(default_factory=dict)


@dataclass(slots=True)
class _Scanner:
    """What matters inside a record (see the module docstring), for one record name in one
    place: a pattern for all of it, and the needles of a faster look for the usual case."""

    pattern: re.Pattern[bytes]
    #: The record's end tag as usually written.
    end_tag: bytes
    #: What must not come before that end tag for it to be the record's end: markup whose
    #: text is not the record's (comment, CDATA section, processing instruction), another
    #: record, the end of an element around the record.
    needles: tuple[bytes, ...]


def _undecodable(error: UnicodeError) -> tuple[str, int]:
    # U+FFFE is no XML character: the strict parse of the record holding it fails, and the
    # record is rejected instead of being read with its text changed.
    assert isinstance(error, UnicodeDecodeError)
    return "\ufffe", error.end


codecs.register_error("marcxml-undecodable", _undecodable)
#: What the converter puts for bytes the declared encoding does not have (UTF-8).
UNDECODABLE = "\ufffe".encode()


def _detect_encoding(head: bytes) -> tuple[str, int, str | None]:
    """(encoding to parse pieces with, length of a UTF-8 byte order mark, the codec to
    convert the stream to UTF-8 with first or None) for a document starting with ``head``.

    Like libxml2: a byte order mark or the zero bytes of UTF-16/32 around ``<`` first, then
    the XML declaration's ``encoding``, else UTF-8. An encoding written in ASCII that would
    not read its own declaration (``UTF-16`` on 8-bit bytes) is not believed.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3, None
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if head.startswith(bom):
            return "utf-8", 0, codec
    four = head[:4]
    if len(four) == 4:
        if four[:3] == b"\x00\x00\x00" and four[3]:
            return "utf-8", 0, "utf-32-be"
        if four[0] and four[1:] == b"\x00\x00\x00":
            return "utf-8", 0, "utf-32-le"
        if four[0] == 0 and four[2] == 0 and four[1] and four[3]:
            return "utf-8", 0, "utf-16-be"
        if four[1] == 0 and four[3] == 0 and four[0] and four[2]:
            return "utf-8", 0, "utf-16-le"
    match = _DECLARATION.match(head, 0, 1024)
    if match is None:
        return "utf-8", 0, None
    name = match.group(1).decode("ascii")
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return name, 0, None  # libxml2 may know it (iconv); markup taken as ASCII
    if codec in ("utf-8", "ascii"):
        return "utf-8", 0, None
    if "2022" in codec:
        # ASCII bytes stand for other characters after an escape sequence: convert first.
        return "utf-8", 0, codec
    try:
        ascii_markup = _PROBE.encode(codec) == _PROBE.encode("ascii")
    except (UnicodeError, LookupError):  # LookupError: a codec of bytes, not text ("hex")
        ascii_markup = False
    if not ascii_markup or codec.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
        return "utf-8", 0, None  # e.g. "UTF-16" declared in 8-bit bytes: libxml2 reads UTF-8
    return name, 0, None


def _transcoded(first: bytes, stream: BinaryIO, codec: str) -> Iterator[bytes]:
    decoder = codecs.getincrementaldecoder(codec)(errors="marcxml-undecodable")
    chunk = first
    while chunk:
        text = decoder.decode(chunk)
        if text:
            yield text.encode("utf-8", "surrogatepass")
        chunk = stream.read(_CHUNK)
    yield decoder.decode(b"", final=True).encode("utf-8", "surrogatepass")


def _declarations(attributes: bytes) -> dict[bytes, tuple[bytes, bytes]]:
    """Namespace declarations among a start tag's attributes: prefix -> (URI, as written)
    (not to be changed: the same start tags come back record after record)."""
    if b"xmlns" not in attributes:
        return _NONE
    return _declared(attributes)


_NONE: dict[bytes, tuple[bytes, bytes]] = {}


@functools.lru_cache(maxsize=64)
def _declared(attributes: bytes) -> dict[bytes, tuple[bytes, bytes]]:
    found: dict[bytes, tuple[bytes, bytes]] = {}
    for match in _XMLNS.finditer(attributes):
        uri = match.group(4) if match.group(4) is not None else match.group(5)
        found[match.group(2) or b""] = (uri, match.group(1) + b"=" + match.group(3))
    return found


#: Stray content waiting to be reported: (start, end, what it is).
_Stray = tuple[int, int, str]


def _grow(stray: _Stray | None, start: int, end: int, what: str) -> _Stray:
    """``stray`` extended to ``end``, or stray content from ``start`` to ``end``."""
    return (start, end, what) if stray is None else (stray[0], end, stray[2])


def _context(declarations: dict[bytes, bytes]) -> bytes:
    return b"".join([b"<_", *(b" " + d for d in declarations.values()), b">"])


class Splitter:
    """Iterate the :class:`Piece` s of a MARCXML stream (see the module docstring)."""

    def __init__(self, stream: BinaryIO) -> None:
        first = stream.read(_CHUNK)
        encoding, bom, codec = _detect_encoding(first)
        #: The encoding pieces are in (``utf-8`` when the stream was converted).
        self.encoding = encoding
        #: The codec the stream was converted to UTF-8 from, or None.
        self.transcoded = codec
        self._chunks: Iterator[bytes]
        if codec is None:
            self._chunks = iter(lambda: stream.read(_CHUNK), b"")
            self.buf = first
        else:
            self._chunks = _transcoded(first, stream, codec)
            self.buf = b""
        self._utf8 = encoding == "utf-8"
        try:
            self._codec: str | None = None if self._utf8 else codecs.lookup(encoding).name
        except LookupError:
            self._codec = None
        self.base = 0  # offset of buf[0] in the (converted) stream
        self.eof = False
        self._start = bom
        # line and column (characters before it on its line) at offset ``mark``
        self.mark = bom
        self.line = 1
        self.column = 0
        self.stack: list[_Open] = []
        self._element_seen = False
        # After the root element: records and collections of files joined end to end are
        # read; other elements there are stray, not envelopes to look into.
        self._root_closed = False
        self._top = _Open(b"", False, {}, {}, b"<_>")  # outside the root element

    # -- input and positions ----------------------------------------------------------------
    def _more(self, keep: int) -> bool:
        """Read on, dropping what lies before offset ``keep``; False at the end."""
        if self.eof:
            return False
        chunk = next(self._chunks, None)
        while chunk is not None and not chunk:
            chunk = next(self._chunks, None)
        if chunk is None:
            self.eof = True
            return False
        self._advance(keep)
        self.buf = self.buf[keep - self.base :] + chunk
        self.base = keep
        return True

    def _chars(self, data: bytes) -> int:
        if self._utf8:
            return len(data.translate(None, _CONTINUATION))
        if self._codec is not None:
            return len(data.decode(self._codec, "replace"))
        return len(data)

    def _advance(self, to: int) -> None:
        if to <= self.mark:
            return
        buf, a, b = self.buf, self.mark - self.base, to - self.base
        newlines = buf.count(b"\n", a, b)
        if newlines:
            self.line += newlines
            a = buf.rfind(b"\n", a, b) + 1
            self.column = 0
        self.column += self._chars(buf[a:b])
        self.mark = to

    def _position(self, at: int) -> tuple[int, int]:
        """Line and column of offset ``at`` (offsets asked for never go back)."""
        self._advance(at)
        return self.line, self.column + 1

    def _slice(self, start: int, end: int) -> bytes:
        return self.buf[start - self.base : end - self.base]

    def _find(self, token: bytes, start: int, keep: int) -> int:
        """Offset of ``token`` at or after ``start``, reading on as needed; -1 when it does
        not come within :data:`MAX_RECORD_BYTES` of ``keep`` or before the end."""
        while True:
            found = self.buf.find(token, start - self.base)
            if found >= 0:
                return self.base + found
            start = max(start, self.base + len(self.buf) - len(token) + 1)
            if self.base + len(self.buf) - keep > MAX_RECORD_BYTES or not self._more(keep):
                return -1

    # -- what lies between records -----------------------------------------------------------
    def _other(self, start: int, end: int, what: str) -> Piece:
        line, column = self._position(start)
        return Piece(
            data=self._slice(start, min(end, start + _SHOWN)),
            offset=None if self.transcoded else start,
            line=line,
            column=column,
            context=b"",
            record=False,
            problem=what,
        )

    def _show(self, data: bytes) -> str:
        text = data.decode(self._codec or "utf-8", "replace")
        text = " ".join(text.split())
        return repr(text if len(text) <= 40 else text[:40] + "…")

    def __iter__(self) -> Iterator[Piece]:
        pos = self._start
        stray: _Stray | None = None
        while True:
            buf, base = self.buf, self.base
            i = pos - base
            lt = buf.find(b"<", i)
            if lt >= 0 and len(buf) - lt < _LOOKAHEAD and not self.eof:
                self._more(pos if stray is None else stray[0])
                continue
            stop = lt if lt >= 0 else len(buf)
            strict = not self.stack or self.stack[-1].collection
            if strict and stop > i:
                text = buf[i:stop]
                body = text.strip(_BLANK)
                if body:
                    start = pos + text.index(body[:1])
                    what = "" if stray else f"text outside any record ({self._show(body)})"
                    stray = _grow(stray, start, start + len(body), what)
            if lt < 0:
                pos = base + len(buf)
                if stray is not None and pos - stray[0] > MAX_RECORD_BYTES:
                    yield self._other(*stray)
                    stray = None
                if not self._more(pos if stray is None else stray[0]):
                    break
                continue
            at = base + lt
            # What must stay in the buffer: reading on may start over from ``pos``.
            keep = pos if stray is None else min(pos, stray[0])
            if buf.startswith(b"<!--", lt) or buf.startswith(b"<![CDATA[", lt):
                comment = buf.startswith(b"<!--", lt)
                opener = 4 if comment else 9
                close = self._find(b"-->" if comment else b"]]>", at + opener, keep)
                if close < 0:
                    if strict:
                        what = "a comment" if comment else "a CDATA section"
                        stray = _grow(stray, at, at + opener, f"{what} that is never closed")
                    pos = at + opener
                    continue
                pos = close + 3
                body = self._slice(at + opener, close)
                if _RECORD_START.search(body):
                    if stray is not None:
                        yield self._other(*stray)
                        stray = None
                    what = "a comment" if comment else "a CDATA section"
                    yield self._other(
                        at,
                        pos,
                        f"{what} holds record markup, which is not read "
                        "(records commented out, or a comment not closed where it should be?)",
                    )
                elif not comment and strict and body.strip(_BLANK):
                    stray = _grow(stray, at, pos, f"text outside any record ({self._show(body)})")
                continue
            if buf.startswith(b"<?", lt):
                close = self._find(b"?>", at + 2, keep)
                pos = close + 2 if close >= 0 else at + 2
                if close >= 0 and _RECORD_START.search(self._slice(at + 2, close)):
                    # A processing instruction left open swallows the records up to the next
                    # "?>": said, as for a comment, not lost without a word.
                    if stray is not None:
                        yield self._other(*stray)
                        stray = None
                    yield self._other(
                        at, pos, "a processing instruction holds record markup, which is not read"
                    )
                continue
            if buf.startswith(b"<!", lt):
                if not self._element_seen and buf[lt + 2 : lt + 9].upper() == b"DOCTYPE":
                    raise UnusableInput(DOCTYPE_REFUSED)
                close = self._find(b">", at + 2, keep)
                pos = close + 1 if close >= 0 else at + 2
                if strict:
                    stray = _grow(stray, at, pos, "markup declaration outside any record")
                continue
            if buf.startswith(b"</", lt):
                match = _END_TAG.match(buf, lt)
                if match is None and not self.eof and len(buf) - lt < _TAG_LIMIT:
                    self._more(keep)
                    continue
                qname = match.group(1) if match else b""
                pos = base + match.end() if match else at + 2
                names = [entry.qname for entry in self.stack]
                if match and names and qname == names[-1]:
                    self.stack.pop()
                    self._root_closed = not self.stack
                elif strict:
                    what = f"end tag </{qname.decode('utf-8', 'replace')}>" if match else "'</'"
                    stray = _grow(stray, at, pos, f"an {what} outside any record")
                    continue
                elif qname in names:  # wrapper elements left open: close them too
                    del self.stack[names.index(qname) :]
                    self._root_closed = not self.stack
                if stray is not None:
                    yield self._other(*stray)
                    stray = None
                continue
            tag = _START_TAG.match(buf, lt)
            if tag is None and not self.eof and len(buf) - lt < _TAG_LIMIT:
                self._more(keep)
                continue
            name = tag or _NAME.match(buf, lt)
            if name is None:  # a "<" that starts no markup
                if strict:
                    stray = _grow(stray, at, at + 1, "a '<' outside any record")
                pos = at + 1
                continue
            self._element_seen = True
            qname = name.group(1)
            prefix, _, local = qname.rpartition(b":")
            own = _declarations(tag.group(2)) if tag else {}
            scope = self.stack[-1].namespaces if self.stack else {}
            uri = own[prefix][0] if prefix in own else scope.get(prefix)
            marc = uri == _MARC or not uri  # no namespace, or a prefix never declared
            if local == b"record" and (marc or strict):
                if stray is not None:
                    yield self._other(*stray)
                    stray = None
                piece, pos = self._record(at, qname, tag, None if marc else uri)
                self._root_closed = not self.stack
                yield piece
                continue
            end = base + (tag.end() if tag else name.end())
            only_records = self.stack[-1].collection if self.stack else self._root_closed
            if only_records and not (local == b"collection" and marc):
                what = f"a <{local.decode('utf-8', 'replace')}> element outside any record"
                stray = _grow(stray, at, end, what)
                pos = end
                continue
            if stray is not None:
                yield self._other(*stray)
                stray = None
            pos = end
            if tag is not None and not tag.group(3):
                self._push(qname, own, local == b"collection" and marc)
        if stray is not None:
            yield self._other(*stray)

    def _push(self, qname: bytes, own: dict[bytes, tuple[bytes, bytes]], collection: bool) -> None:
        if len(self.stack) >= MAX_DEPTH:
            # As libxml2 (its default limit): deeper nesting is no catalogue's, and every
            # level costs memory and, at each end tag, time.
            raise UnusableInput(
                f"elements are nested more than {MAX_DEPTH} deep around the records: "
                "this is no MARCXML file this system reads"
            )
        parent = self.stack[-1] if self.stack else self._top
        if own:
            namespaces = {**parent.namespaces, **{p: uri for p, (uri, _) in own.items()}}
            declarations = {**parent.declarations, **{p: raw for p, (_, raw) in own.items()}}
            entry = _Open(qname, collection, namespaces, declarations, _context(declarations))
        else:
            entry = _Open(qname, collection, parent.namespaces, parent.declarations, parent.context)
        self.stack.append(entry)

    # -- one record --------------------------------------------------------------------------
    def _scanner(self, qname: bytes, parent: _Open) -> _Scanner:
        scanner = parent.scanners.get(qname)
        if scanner is None:
            ancestors = [entry.qname for entry in self.stack]
            up = b"|(?P<up>/(?:" + b"|".join(map(re.escape, ancestors)) + rb")\s*>)"
            pattern = re.compile(
                rb"<(?:(?P<comment>!--)|(?P<cdata>!\[CDATA\[)|(?P<pi>\?)"
                rb"|(?P<end>/" + re.escape(qname) + rb"\s*>)"
                rb"|(?P<start>(?:[^\s<>/!?=\"':]+:)?record(?=[\s/>]))"
                + (up if ancestors else b"")
                + b")"
            )
            needles = (b"<!", b"<?", b"record", *(b"</" + name for name in ancestors))
            scanner = _Scanner(pattern, b"</" + qname + b">", needles)
            parent.scanners[qname] = scanner
        return scanner

    def _record(
        self, start: int, qname: bytes, tag: re.Match[bytes] | None, namespace: bytes | None
    ) -> tuple[Piece, int]:
        """The record element starting at offset ``start``, and where reading goes on."""
        line, column = self._position(start)
        parent = self.stack[-1] if self.stack else self._top
        result = Piece(
            data=b"",
            offset=None if self.transcoded else start,
            line=line,
            column=column,
            context=parent.context,
            record=True,
            namespace=namespace,
        )
        if tag is not None and tag.group(3):  # <record .../>
            end = self.base + tag.end()
            self._cut(result, start, end)
            return result, end
        scan = self.base + tag.end() if tag is not None else start + 1 + len(qname)
        scanner = self._scanner(qname, parent)
        # The usual case, without the pattern (several times faster on a bulk load): the
        # end tag is in the buffer, and nothing that would need the pattern comes before it.
        buf, base = self.buf, self.base
        end = buf.find(scanner.end_tag, scan - base)
        if end >= 0:
            i = scan - base
            for needle in scanner.needles:
                if buf.find(needle, i, end) >= 0:
                    break
            else:
                end += base + len(scanner.end_tag)
                self._cut(result, start, end)
                return result, end
        pattern = scanner.pattern
        keep = start  # what must stay in the buffer: the record, unless it is too large
        too_large = False
        while True:
            buf, base = self.buf, self.base
            match = pattern.search(buf, scan - base)
            if match is None:
                scan = max(scan, base + len(buf) - _OVERLAP)
                if too_large or base + len(buf) - start > MAX_RECORD_BYTES:
                    if not too_large:
                        self._cut(result, start, base + len(buf))
                        too_large = True
                    keep = scan  # skip to its end without keeping it, as the scan moves on
                if not self._more(keep):
                    end = self.base + len(self.buf)
                    problem = "the file ends inside this record (truncated file?)"
                    self._cut(result, start, end, problem)
                    return result, end
                continue
            kind = match.lastgroup
            if kind == "end":
                end = base + match.end()
                self._cut(result, start, end)
                return result, end
            if kind in _CLOSERS:
                opened = base + match.end()
                closer = _CLOSERS[kind]  # type: ignore[index]
                close = self._find(closer, opened, keep)
                if close >= 0 and re.search(
                    b"</" + re.escape(qname) + rb"\s*>", self._slice(opened, close)
                ):
                    close = -1  # holds the record's end tag: its own closing was lost?
                scan = close + len(closer) if close >= 0 else opened
                continue
            # Another record starts, or an element around this one ends: it was never closed.
            at = base + match.start()
            if kind == "start":
                what = "the next record starts"
            else:
                up = match.group("up")[1:].rstrip(b" \t\r\n>").decode("utf-8", "replace")
                what = f"</{up}>"
            name = qname.decode("utf-8", "replace")
            self._cut(result, start, at, f"the record has no end tag </{name}> before {what}")
            return result, at

    def _cut(self, piece: Piece, start: int, end: int, problem: str | None = None) -> None:
        """Give ``piece`` its bytes, from ``start`` to ``end``, and the ``problem`` found at
        ``end``; or, when they are too many, only their beginning and that problem."""
        if piece.problem is not None:
            return  # already found too large
        if end - start > MAX_RECORD_BYTES:
            piece.data = self._slice(start, start + _SHOWN)
            piece.problem = (
                f"the record is larger than {MAX_RECORD_BYTES:,} bytes, or its end tag is "
                f"missing (only its first {_SHOWN:,} bytes are kept)"
            )
            return
        piece.data = self._slice(start, end)
        if problem is not None:
            piece.problem = problem
            piece.where = self._position(end)
