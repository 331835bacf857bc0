"""Turning the bytes of an OAI-PMH response into a safe, parsed XML tree.

Real feeds are not always clean. Three quirks are common enough to handle without failing the
page:

* **Invalid UTF-8.** An ILS that stored one record in Latin-1 (or cut a multi-byte character in
  half when truncating a field) produces bytes that are not UTF-8 inside an otherwise good page.
  Guessing another encoding would store silent mojibake in the union catalogue, so each invalid
  byte sequence is replaced by :data:`INVALID_BYTES_MARK`; the record that contains the mark is
  then skipped and reported by :mod:`oai.harvest.records`, and the rest of the page is kept.
* **XML-illegal control characters.** MARC's own delimiters (``\\x1d``-``\\x1f``) and stray
  ``\\x0b``/``\\x0c`` leak into MARCXML, raw or as character references (``&#31;``). XML 1.0
  forbids them, so they are removed and the repair is noted.
* **Declared encodings other than UTF-8.** Decoded with the declared codec, re-encoded as UTF-8.

Parsing is hardened: no entity expansion, no DTD loading, no network access, a DOCTYPE is refused
(OAI-PMH never needs one), the page size is bounded by the caller and the element depth by
:data:`MAX_DEPTH`. Nothing is "recovered" silently: a page that is still not well-formed is a
:class:`BrokenXML` error, which the client retries and then reports.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from lxml import etree

from marc.xmlsafe import HARDENED, declares_doctype

OAI_NS = "http://www.openarchives.org/OAI/2.0/"

#: Replaces each invalid byte sequence. A Unicode noncharacter: legal in XML, never in real data.
INVALID_BYTES_MARK = "\ufdd0"
_MARK_UTF8 = INVALID_BYTES_MARK.encode("utf-8")

#: Deepest element nesting accepted: libxml2's own limit without ``huge_tree`` (OAI-PMH with
#: MARCXML needs about 8), enforced while parsing so a hostile page costs nothing extra.
MAX_DEPTH = 256

_ENCODING_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")
# Raw C0 controls other than tab, LF, CR; in UTF-8 they are always single bytes.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]+")
_CHAR_REF = re.compile(rb"&#(x[0-9a-fA-F]+|[0-9]+);")


class BrokenXML(Exception):
    """A page that is not a well-formed, safe OAI-PMH document; ``str()`` says why."""


def _mark_invalid(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return INVALID_BYTES_MARK, error.end


codecs.register_error("libext-oai-mark", _mark_invalid)


def _is_xml_char(code: int) -> bool:
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


@dataclass
class CleanFeed:
    """Clean UTF-8 bytes of a page, with a note per repair made."""

    data: bytes
    repairs: list[str] = field(default_factory=list)
    invalid_sequences: int = 0


def clean(data: bytes) -> CleanFeed:
    """Decode ``data`` in its declared encoding and repair what XML cannot carry.

    Returns UTF-8 bytes; ``invalid_sequences`` counts the byte sequences replaced by
    :data:`INVALID_BYTES_MARK`.
    """
    repairs: list[str] = []
    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        declared = _ENCODING_DECL.match(data[:200])
        if declared:
            encoding = declared.group(1).decode("ascii").lower()
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        repairs.append(f"unknown declared encoding {encoding!r} read as UTF-8")
        codec = "utf-8"

    invalid = 0
    if codec == "utf-8":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            before = data.count(_MARK_UTF8)
            data = data.decode("utf-8", "libext-oai-mark").encode("utf-8")
            invalid = data.count(_MARK_UTF8) - before
            repairs.append(f"{invalid} invalid UTF-8 byte sequence(s)")
    else:
        text = data.decode(codec, "libext-oai-mark")
        invalid = text.count(INVALID_BYTES_MARK)
        if invalid:
            repairs.append(f"{invalid} byte sequence(s) invalid in {codec}")
        # The declaration would now lie about the encoding: drop it (UTF-8 is the default).
        data = _XML_DECL.sub(b"", text.encode("utf-8"), count=1)

    controls = 0

    def drop(match: re.Match[bytes]) -> bytes:
        nonlocal controls
        controls += len(match.group(0))
        return b""

    data = _CONTROL_BYTES.sub(drop, data)

    refs = 0

    def drop_ref(match: re.Match[bytes]) -> bytes:
        nonlocal refs
        text = match.group(1)
        try:
            code = int(text[1:], 16) if text[:1] == b"x" else int(text)
        except ValueError:  # pragma: no cover - the pattern only matches digits
            return match.group(0)
        if _is_xml_char(code):
            return match.group(0)
        refs += 1
        return b""

    if b"&#" in data:
        data = _CHAR_REF.sub(drop_ref, data)
    if controls or refs:
        repairs.append(f"{controls + refs} XML-illegal control character(s) removed")
    return CleanFeed(data, repairs, invalid)


def new_parser() -> etree.XMLParser:
    """A parser for OAI-PMH responses: hardened (see :mod:`marc.xmlsafe`), strict, and not
    collecting ``xml:id``s (a duplicate id in a feed is no reason to refuse a page). lxml
    lets one thread at a time use a parser: code that parses in its own threads makes its
    own."""
    return etree.XMLParser(**HARDENED, remove_blank_text=False, recover=False, collect_ids=False)


_PARSER = new_parser()


def parse(data: bytes) -> etree._Element:
    """Parse clean bytes into the OAI-PMH root element, or raise :class:`BrokenXML`."""
    if not data.strip():
        raise BrokenXML("empty response")
    if declares_doctype(data):  # refused before libxml2 sees it (see marc.xmlsafe)
        raise BrokenXML("a DOCTYPE is not allowed in an OAI-PMH response")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise BrokenXML(f"not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise BrokenXML("a DOCTYPE is not allowed in an OAI-PMH response")
    if root.tag != f"{{{OAI_NS}}}OAI-PMH":
        raise BrokenXML(f"not an OAI-PMH response (root element {root.tag!r})")
    return root
