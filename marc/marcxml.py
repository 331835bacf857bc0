"""Reading MARCXML incrementally, recovering record by record.

The document is parsed with lxml's ``iterparse`` in recover mode, each ``record`` element
(MARC 21 slim namespace, or no namespace) is converted when its end tag is seen and then
freed, so memory stays flat on files of any size. Parser errors are attributed to the
record whose lines they fall in: that record is rejected with the parser's message and the
others are read. Entities are not resolved, no DTD is loaded and nothing is fetched from
the network (no XXE, no billion laughs), and a document with a DOCTYPE is refused outright
(MARCXML never needs one); ``huge_tree`` stays off, which caps text nodes and
nesting depth (the settings: :mod:`marc.xmlsafe`), and :data:`MAX_ELEMENTS` caps a single
record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import BinaryIO

import pymarc
from lxml import etree
from pymarc import Field, Leader, Subfield

from marc.errors import UnusableInput
from marc.fields import control_field, data_field
from marc.marcxml_writer import nfc
from marc.reader import Decoded
from marc.xmlsafe import FRAGMENT_PARSER, HARDENED, declares_doctype

MARC_NS = "http://www.loc.gov/MARC21/slim"
_RECORD_TAGS = {f"{{{MARC_NS}}}record", "record"}
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


_DOCTYPE_REFUSED = (
    "MARCXML with a DOCTYPE is refused: DTDs and entity declarations are not allowed "
    "(they can read local files or expand without bound)"
)


def iter_marcxml(stream: BinaryIO, deferred: bool = False) -> Iterator[Decoded]:
    """Yield one :class:`marc.reader.Decoded` per ``record`` element of a MARCXML stream.

    With ``deferred`` a record is only cut out (``pending``; :func:`decode_pending` converts
    it, maybe in another process); otherwise it is converted here, from the parsed element.
    """
    peek = getattr(stream, "peek", None)
    if peek is not None and declares_doctype(peek(1 << 16)[: 1 << 16]):
        # MARCXML never needs a DTD; a DOCTYPE is how XXE and entity bombs arrive.
        raise UnusableInput(_DOCTYPE_REFUSED)
    parser = etree.iterparse(
        stream,
        events=("end",),
        tag=sorted(_RECORD_TAGS),
        recover=True,
        **HARDENED,
        remove_comments=True,
        remove_pis=True,
    )
    seen_errors = 0
    pending: list[tuple[int, str]] = []  # parser errors not yet attributed to a record
    checked_doctype = False
    try:
        for _event, element in parser:
            if not checked_doctype:
                checked_doctype = True
                if element.getroottree().docinfo.doctype:
                    raise UnusableInput(_DOCTYPE_REFUSED)
            if any(a.tag in _RECORD_TAGS for a in element.iterancestors()):
                continue  # a record inside a record: part of the outer one
            log = parser.error_log
            if len(log) > seen_errors:
                entries = list(log)
                pending.extend((e.line, e.message) for e in entries[seen_errors:])
                seen_errors = len(entries)
            own: list[tuple[int, str]] = []
            if pending:
                # libxml2 parses ahead of the events lxml delivers, so an error may belong to
                # a later record: attribute by line span (start tag to last descendant).
                first = element.sourceline or 0
                last = max((d.sourceline or 0 for d in element.iterdescendants()), default=first)
                own = [(ln, msg) for ln, msg in pending if first <= ln <= last + 1]
                pending = [(ln, msg) for ln, msg in pending if ln > last + 1]
            raw = etree.tostring(element, encoding="utf-8")
            item = Decoded(offset=None, raw=raw, line=element.sourceline, encoding="utf-8")
            if own:
                line, message = own[0]
                item.reason = f"malformed XML at line {line}: {message}"
                item.control_number = _control_number(element)
            elif deferred:
                item.pending = "marcxml"
            else:
                item = _converted(item, element)
            yield item
            # free what was parsed so far: memory must not grow with the file
            element.clear(keep_tail=False)
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:  # recover mode gave up entirely
        yield Decoded(
            offset=None,
            raw=b"",
            reason=f"unreadable XML after this point: {exc.msg}",
            line=exc.lineno,
        )


def decode_pending(item: Decoded) -> Decoded:
    """Convert a record element that :func:`iter_marcxml` cut out (``item.raw``)."""
    return _converted(item, etree.fromstring(item.raw, FRAGMENT_PARSER))


def _converted(item: Decoded, element: etree._Element) -> Decoded:
    record, reason, warnings = element_to_record(element)
    decoded = Decoded(
        offset=item.offset, raw=item.raw, line=item.line, encoding=item.encoding, record=record
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
