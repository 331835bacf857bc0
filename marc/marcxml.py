"""Reading MARCXML record by record: a broken record is rejected alone, saying where.

:class:`marc.marcxml_split.Splitter` cuts the byte stream into record elements as written
(and reports any content between records that is no record); each is parsed on its own by
a strict parser, so memory stays flat on files of any size, and one broken record can
neither swallow its neighbours nor be read with text libxml2 dropped while repairing it.
A record that does not parse is rejected with libxml2's reason, in a cataloguer's words
where it is a usual one, and its line and column in the file; its control number is looked
for in what a recovering parse makes of it, and used for nothing else.

Entities are not resolved, no DTD is loaded and nothing is fetched from the network (no XXE,
no billion laughs), and a document with a DOCTYPE is refused outright (MARCXML never needs
one; libxml2 never even sees the prolog); ``huge_tree`` stays off, which caps text nodes and
nesting depth (the settings: :mod:`marc.xmlsafe`), and :data:`MAX_ELEMENTS` caps a single
record (:data:`marc.marcxml_split.MAX_RECORD_BYTES` its size).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO

import pymarc
from lxml import etree
from pymarc import Field, Leader, Subfield

from marc.errors import UnusableInput
from marc.fields import control_field, data_field
from marc.marcxml_split import UNDECODABLE, Piece, Splitter
from marc.marcxml_writer import MARC_NS, nfc
from marc.reader import Decoded
from marc.xmlsafe import FRAGMENT_PARSER, HARDENED

#: Elements one record may hold before it is rejected as unreasonable.
MAX_ELEMENTS = 50_000


_NAMES = {
    f"{{{MARC_NS}}}{name}" if ns else name: name
    for name in ("leader", "controlfield", "datafield", "subfield")
    for ns in (True, False)
}


_SUBFIELD_TAGS = frozenset(tag for tag, name in _NAMES.items() if name == "subfield")
_normalize = unicodedata.normalize
_subfield = tuple.__new__


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""  # comments, processing instructions
    return tag.rsplit("}", 1)[-1]


def _nfc(text: str | None) -> str:
    return nfc(text) if text else ""


def _is_tag(tag: str) -> bool:
    return len(tag) == 3 and tag.isascii() and tag.isalnum()


def element_to_record(
    element: etree._Element, *, strict: bool = False
) -> tuple[pymarc.Record | None, str | None, list[str]]:
    """Convert one ``record`` element; returns (record, rejection reason, warnings).

    An import validates what it read afterwards (see :mod:`marc.validate`), so structure
    that MARC cannot hold only gives warnings here. With ``strict`` (a harvest, which has no
    such step) a tag that is not three letters or digits, a 00X data field or a subfield
    code that is not a printable ASCII character rejects the record instead.
    """
    warnings: list[str] = []
    leader: str | None = None
    fields: list[Field] = []
    count = 0
    for child in element:
        count += 1
        name = _NAMES.get(child.tag) or _local(child.tag)  # type: ignore[call-overload]
        if not name:
            continue
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            tag = child.get("tag")
            if not tag:
                return None, "a controlfield has no tag attribute", warnings
            if strict and not _is_tag(tag):
                return None, f"control field with a bad tag {tag!r}", warnings
            fields.append(control_field(tag.strip(), _nfc(child.text)))
        elif name == "datafield":
            tag = child.get("tag")
            if not tag:
                return None, "a datafield has no tag attribute", warnings
            if strict and (not _is_tag(tag) or tag.startswith("00")):
                return None, f"data field with a bad tag {tag!r}", warnings
            ind1 = child.get("ind1")
            ind2 = child.get("ind2")
            if ind1 is None or ind2 is None:
                warnings.append(f"field {tag}: missing indicator attribute read as blank")
            count += len(child)
            if count > MAX_ELEMENTS:
                return None, f"record has more than {MAX_ELEMENTS} elements", warnings
            subfields: list[Subfield] = []
            # The loop every subfield of a file goes through: kept to C-level calls
            # (Subfield is a named tuple, made here without its Python-level __new__).
            for sub in child:
                # Any namespace counts, as for the other elements: a prefixed record whose
                # children sit in the enclosing default namespace is seen in OAI feeds.
                if sub.tag not in _SUBFIELD_TAGS and _local(sub.tag) != "subfield":
                    if _local(sub.tag):
                        warnings.append(f"field {tag}: unexpected element <{_local(sub.tag)}>")
                    continue
                code = sub.get("code")
                if not code or len(code) != 1 or (strict and not ("!" <= code <= "~")):
                    if strict and code and len(code) == 1:
                        return None, f"field {tag} has a bad subfield code {code!r}", warnings
                    if not code:
                        return None, f"field {tag} has a subfield without a code", warnings
                    return (
                        None,
                        f"field {tag} has a subfield code {code!r} longer than one character",
                        warnings,
                    )
                text = sub.text
                if not text:
                    text = ""
                elif not text.isascii():
                    text = _normalize("NFC", text)
                subfields.append(_subfield(Subfield, (code, text)))
            field = data_field(
                tag.strip(), (ind1 or " ")[:1] or " ", (ind2 or " ")[:1] or " ", subfields
            )
            if field.control_field:  # a 00X written as a datafield
                warnings.append(f"field {tag} is a control field written as a datafield")
                field.data = _nfc("".join(s.value for s in subfields))  # marks may join
            if len(ind1 or " ") > 1 or len(ind2 or " ") > 1:
                return None, f"field {tag} has an indicator longer than one character", warnings
            fields.append(field)
        else:
            warnings.append(f"unexpected element <{name}> ignored")
    if leader is None:
        if not fields:
            return None, "empty record (no leader, no fields)", warnings
        return None, "record has no leader", warnings
    if len(leader) != 24 or not leader.isascii():
        return None, f"leader is {len(leader)} characters, not 24 ({leader!r})", warnings
    leader = leader[:9] + "a" + leader[10:]  # XML is Unicode whatever leader/09 said
    record = pymarc.Record(force_utf8=True)
    record.leader = Leader(leader)
    record.fields = fields  # type: ignore[assignment]
    return record, None, warnings


def iter_marcxml(stream: BinaryIO, deferred: bool = False) -> Iterator[Decoded]:
    """Yield one :class:`marc.reader.Decoded` per ``record`` element of a MARCXML stream, and
    one (rejected) for each run of content between records that is no record (nothing at
    all for a document holding no record).

    With ``deferred`` a record is only cut out when its bytes can be read alone
    (``pending``; :func:`decode_pending` parses and converts it, maybe in another process),
    and otherwise checked here and cut out with the namespace declarations it uses;
    without, it is converted here, from the parsed element.
    """
    splitter = Splitter(stream)
    strict, recovering = _parsers(splitter.encoding)
    utf8 = splitter.encoding == "utf-8"
    # Converted input is read here, where the encoding is known to name its bad bytes.
    hand_on = deferred and not splitter.transcoded
    # Stray content before the first record waits for one: a file that holds nothing else is
    # no MARCXML, which the reader says of the whole file (MarcReader.pieces).
    held: list[Decoded] | None = []
    for piece in splitter:
        if not piece.record:
            stray = Decoded(
                offset=piece.offset,
                raw=piece.data,
                reason=f"not a record: {piece.problem} {_at(piece.line, piece.column)}",
                line=piece.line,
                column=piece.column,
            )
            if held is None:
                yield stray
            else:
                held.append(stray)
                if len(held) >= _HELD:
                    yield from held
                    held = None
            continue
        if held:
            yield from held
        held = None
        if utf8 and piece.context in _ENOUGH_CONTEXT:
            piece.context = b""  # parsed alone, as decode_pending will parse it
            if hand_on and piece.problem is None and piece.namespace is None:
                yield Decoded(
                    offset=piece.offset,
                    raw=piece.data,
                    line=piece.line,
                    column=piece.column,
                    encoding="utf-8",
                    pending="marcxml",
                )
                continue
        yield _decoded(piece, strict, recovering, splitter.transcoded, deferred)


def decode_pending(item: Decoded) -> Decoded:
    """Parse and convert a record that :func:`iter_marcxml` cut out (``item.raw``, which
    reads alone)."""
    piece = Piece(
        data=item.raw,
        offset=item.offset,
        line=item.line or 1,
        column=item.column or 1,
        context=b"",
        record=True,
    )
    return _decoded(piece, FRAGMENT_PARSER, _RECOVERING, None, deferred=False)


def _decoded(
    piece: Piece,
    strict: etree.XMLParser,
    recovering: etree.XMLParser,
    transcoded: str | None,
    deferred: bool,
) -> Decoded:
    """A record piece parsed (strictly, see :func:`_parse`), then converted, or only cut out
    with ``deferred``; or rejected, saying why and where."""
    element, reason = _parse(piece, strict, transcoded)
    if reason is None and piece.namespace is not None:
        namespace = piece.namespace.decode("utf-8", "replace")
        reason = (
            f"not a MARC record: its <record> element is in the namespace {namespace!r}, "
            f"not in MARC 21 slim ({MARC_NS}) {_at(piece.line, piece.column)}"
        )
    if reason is not None:
        if element is None:
            element = _recovered(piece, recovering)
        return Decoded(
            offset=piece.offset,
            raw=piece.data,
            reason=reason,
            control_number=None if element is None else _control_number(element),
            line=piece.line,
            column=piece.column,
        )
    assert element is not None
    # Bytes that read alone are kept as written; others get the declarations they use.
    raw = etree.tostring(element, encoding="utf-8") if piece.context else piece.data
    item = Decoded(
        offset=piece.offset, raw=raw, line=piece.line, column=piece.column, encoding="utf-8"
    )
    if deferred:
        item.pending = "marcxml"
        return item
    return _converted(item, element)


def _parsers(encoding: str) -> tuple[etree.XMLParser, etree.XMLParser]:
    """The strict parser for the pieces of a document in ``encoding``, and a recovering one
    (only ever used to find a rejected record's control number)."""
    if encoding == "utf-8":
        return FRAGMENT_PARSER, _RECOVERING
    try:
        return (
            etree.XMLParser(encoding=encoding, **HARDENED, remove_comments=True, remove_pis=True),
            etree.XMLParser(encoding=encoding, recover=True, **HARDENED),
        )
    except LookupError as exc:
        raise UnusableInput(f"the MARCXML declares an unknown encoding {encoding!r}") from exc


_RECOVERING = etree.XMLParser(recover=True, **HARDENED)
#: Stray pieces held back at most while no record has come (each keeps 64 KB at most).
_HELD = 64
#: Contexts in which a record's bytes, parsed alone, give the same record: none, or MARC 21
#: slim as the default namespace (:func:`element_to_record` reads records of no namespace
#: alike, and files of rejected records declare that default).
_ENOUGH_CONTEXT = frozenset(
    (b"<_>", f'<_ xmlns="{MARC_NS}">'.encode(), f"<_ xmlns='{MARC_NS}'>".encode())
)
_LINE = re.compile(r"\bline (\d+)")
#: libxml2's words for the usual mistakes, in a cataloguer's (others are passed on as is).
_PLAIN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"xmlParseEntityRef: no name", "a '&' that starts no entity (write & as &amp;)"),
        (r"StartTag: invalid element name", "a '<' that starts no element (write < as &lt;)"),
        (
            r"Entity '(.+)' not defined",
            r"unknown entity &\1; (XML has only &amp; &lt; &gt; &quot; &apos; and numbered "
            r"ones such as &#233;)",
        ),
        (
            r"Opening and ending tag mismatch: (\S+) line (\d+) and (\S+)",
            r"<\1> opened on line \2 is not closed before </\3>",
        ),
        (r"Premature end of data in tag (\S+) line (\d+)", r"<\1> opened on line \2 is not closed"),
        (
            r"(?:PCDATA )?invalid (?:Char value \d+|character in attribute value)",
            "a control character, which XML does not allow",
        ),
        (
            r"Invalid bytes in character encoding|Input is not proper UTF-8.*",
            "bytes that are not valid in the file's encoding (is the file in another encoding "
            "than its XML declaration says?)",
        ),
        (
            r"Namespace prefix (\S+) on (\S+) is not defined",
            r"the namespace prefix '\1' of <\1:\2> is not declared",
        ),
    )
)


def _plain(message: str) -> str:
    """libxml2's message in a cataloguer's words, when it is a usual one."""
    for pattern, replacement in _PLAIN:
        if pattern.fullmatch(message):
            return pattern.sub(replacement, message)
    return message


def _at(line: int, column: int) -> str:
    return f"(line {line}, column {column})"


def _wrapped(piece: Piece) -> bytes:
    """The piece as a document: inside its context element, if it needs one."""
    return piece.context + piece.data + b"</_>" if piece.context else piece.data


def _parse(
    piece: Piece, parser: etree.XMLParser, transcoded: str | None
) -> tuple[etree._Element | None, str | None]:
    """(the record element, None) or (None or the element, why the piece is rejected).

    Parsed on its own and strictly: libxml2 repairs nothing, so a record it would have to
    repair is rejected, and an error's position is in that record.
    """
    if piece.problem is not None and piece.where is None:  # too large: not parsed at all
        return None, f"{piece.problem} {_at(piece.line, piece.column)}"
    try:
        root = etree.fromstring(_wrapped(piece), parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        if line <= 1:  # on the piece's first line, after its context tag
            line, column = piece.line, piece.column + max(column - 1 - len(piece.context), 0)
        else:
            line += piece.line - 1
        if piece.where is not None and (line, column) >= piece.where:
            # At the cut (the missing end tag itself): the cutting says it better.
            return None, f"malformed XML: {piece.problem} {_at(*piece.where)}"
        # libxml2 numbers lines in what it was given: the piece's, not the file's.
        message = _LINE.sub(lambda m: f"line {int(m.group(1)) + piece.line - 1}", exc.msg)
        message = message.split(", line ", 1)[0] if ", column " in message else message
        message = _plain(message.strip())
        if transcoded and UNDECODABLE in piece.data:
            message = f"bytes that are not valid {transcoded}"
        return None, f"malformed XML: {message} {_at(line, column)}"
    element = root[0] if piece.context else root
    if piece.problem is not None:  # never read a record the cutting found broken
        return element, f"malformed XML: {piece.problem} {_at(*(piece.where or (0, 0)))}"
    return element, None


def _recovered(piece: Piece, parser: etree.XMLParser) -> etree._Element | None:
    """The broken record as libxml2 repairs it: only to look for its control number."""
    try:
        root = etree.fromstring(_wrapped(piece), parser)
    except etree.XMLSyntaxError:
        return None
    if root is None or not piece.context:
        return root
    return root[0] if len(root) else None


def _converted(item: Decoded, element: etree._Element) -> Decoded:
    record, reason, warnings = element_to_record(element)
    decoded = Decoded(
        offset=item.offset,
        raw=item.raw,
        line=item.line,
        column=item.column,
        encoding=item.encoding,
        record=record,
    )
    decoded.reason, decoded.warnings = reason, warnings
    decoded.normalized = record is not None  # texts NFC, leader/09 "a" (element_to_record)
    if record is None:
        decoded.control_number = _control_number(element)
    return decoded


def _control_number(element: etree._Element) -> str | None:
    for child in element:
        if _local(child.tag) == "controlfield" and child.get("tag") == "001":
            return (child.text or "").strip() or None
    return None
