"""MarcEdit / LC MARCMaker mnemonic text (``.mrk``): reading and writing.

One line per field, records separated by a blank line::

    =LDR  00755cam  22002414a 4500
    =001  fol05731351\\
    =245  10$aActivePerl with ASP and ADO /$cTobias Martinsson.

A backslash stands for a blank in the leader, in control fields and in indicators; ``$``
starts a subfield. Characters may be written as mnemonics in braces (``{dollar}``,
``{acute}e``, ``{aelig}``, ``{1B}``...), which name MARC-8 characters: they are turned back
into MARC-8 bytes and decoded with the record, so a MARC-8 ``.mrk`` reads exactly like the
ISO 2709 file it was made from. ``{U+1EA1}`` names a Unicode character directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

import pymarc

from marc.fields import CONTROL_TAGS
from marc.reader import Decoded, decode_iso2709

# LC MARCMaker/MARCBreaker character mnemonics and the MARC-8 bytes they stand for.
MNEMONICS: dict[str, bytes] = {
    # ASCII characters that have a meaning in the syntax or are hard to type
    "dollar": b"$", "curren": b"$", "bsol": b"\\", "lcub": b"{", "rcub": b"}",
    "verbar": b"|", "esc": b"\x1b", "excl": b"!", "quot": b'"', "num": b"#",
    "percnt": b"%", "amp": b"&", "apos": b"'", "lpar": b"(", "rpar": b")", "ast": b"*",
    "plus": b"+", "comma": b",", "hyphen": b"-", "period": b".", "sol": b"/",
    "colon": b":", "semi": b";", "lt": b"<", "equals": b"=", "gt": b">", "quest": b"?",
    "commat": b"@", "lsqb": b"[", "rsqb": b"]", "lowline": b"_", "spgrave": b"`",
    "spcirc": b"^", "sptilde": b"~", "mdash": b"--",
    # ANSEL control characters
    "nsb": b"\x88", "nse": b"\x89", "joiner": b"\x8d", "zwj": b"\x8d",
    "nonjoin": b"\x8e", "zwnj": b"\x8e",
    # ANSEL spacing characters
    "Lstrok": b"\xa1", "Ostrok": b"\xa2", "Dstrok": b"\xa3", "THORN": b"\xa4",
    "AElig": b"\xa5", "OElig": b"\xa6", "softsign": b"\xa7", "mlprime": b"\xa7",
    "middot": b"\xa8", "flat": b"\xa9", "reg": b"\xaa", "plusmn": b"\xab",
    "Ohorn": b"\xac", "Uhorn": b"\xad", "mlrhring": b"\xae", "mllhring": b"\xb0",
    "lstrok": b"\xb1", "ostrok": b"\xb2", "dstrok": b"\xb3", "thorn": b"\xb4",
    "aelig": b"\xb5", "oelig": b"\xb6", "hardsign": b"\xb7", "mlPrime": b"\xb7",
    "inodot": b"\xb8", "pound": b"\xb9", "eth": b"\xba", "ohorn": b"\xbc",
    "uhorn": b"\xbd", "deg": b"\xc0", "scriptl": b"\xc1", "phono": b"\xc2",
    "copy": b"\xc3", "sharp": b"\xc4", "iquest": b"\xc5", "iexcl": b"\xc6",
    "eszett": b"\xc7", "szlig": b"\xc7", "euro": b"\xc8",
    # ANSEL combining diacritics (written before the letter they go on)
    "hooka": b"\xe0", "grave": b"\xe1", "acute": b"\xe2", "circ": b"\xe3",
    "tilde": b"\xe4", "macr": b"\xe5", "breve": b"\xe6", "dot": b"\xe7",
    "uml": b"\xe8", "diaer": b"\xe8", "umlaut": b"\xe8", "caron": b"\xe9",
    "ring": b"\xea", "llig": b"\xeb", "rlig": b"\xec", "rcommaa": b"\xed",
    "dblac": b"\xee", "candra": b"\xef", "cedil": b"\xf0", "ogon": b"\xf1",
    "dotb": b"\xf2", "dbldotb": b"\xf3", "ringb": b"\xf4", "dblunder": b"\xf5",
    "under": b"\xf6", "commab": b"\xf7", "rcedil": b"\xf8", "breveb": b"\xf9",
    "ldbltil": b"\xfa", "rdbltil": b"\xfb", "commaa": b"\xfe",
}  # fmt: skip
_MNEMONIC = re.compile(r"\{([A-Za-z]+|[0-9A-Fa-f]{2}|U\+[0-9A-Fa-f]{4,6})\}")
_LINE = re.compile(r"=(LDR|[0-9A-Za-z]{3})  (.*)")
# For writing: characters that must be escaped as mnemonics in .mrk text.
_ESCAPES = {"$": "{dollar}", "{": "{lcub}", "}": "{rcub}", "\\": "{bsol}"}


def _to_bytes(text: str) -> bytes:
    """Text of one field with its mnemonics turned into MARC-8 bytes.

    Other text goes back to the bytes it was read from (UTF-8, or whatever 8-bit bytes the
    file held, carried through as surrogate escapes), so encoding detection sees them.
    """
    out = bytearray()
    pos = 0
    for match in _MNEMONIC.finditer(text):
        out += text[pos : match.start()].encode("utf-8", "surrogateescape")
        name = match.group(1)
        if name in MNEMONICS:
            out += MNEMONICS[name]
        elif name.startswith("U+"):
            out += chr(int(name[2:], 16)).encode("utf-8")
        elif len(name) == 2 and all(c in "0123456789ABCDEFabcdef" for c in name):
            out.append(int(name, 16))
        else:
            out += match.group(0).encode("utf-8")  # not a mnemonic we know: keep as typed
        pos = match.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)


def mrk_to_iso2709(lines: list[str]) -> tuple[bytes | None, str | None]:
    """Turn one record's ``.mrk`` lines into ISO 2709 bytes (in the record's own encoding,
    mnemonics resolved), or return a rejection reason."""
    leader: str | None = None
    fields: list[tuple[str, bytes]] = []
    for number, line in enumerate(lines, start=1):
        match = _LINE.fullmatch(line)
        if not match:
            return None, f"line {number} of the record is not '=TAG  data': {line[:40]!r}"
        tag, data = match.groups()
        if tag == "LDR":
            leader = data.replace("\\", " ")
            continue
        if tag in CONTROL_TAGS:
            fields.append((tag, _to_bytes(data.replace("\\", " "))))
            continue
        if len(data) < 2:
            return None, f"field {tag} has no indicators"
        indicators = data[:2].replace("\\", " ")
        body = data[2:]
        if body and not body.startswith("$"):
            return None, f"field {tag}: data does not start with a subfield ($)"
        encoded = indicators.encode("utf-8") + _to_bytes(body.replace("$", "\x1f"))
        fields.append((tag, encoded))
    if leader is None:
        return None, "record has no =LDR line"
    if len(leader) != 24 or not leader.isascii():
        return None, f"leader is {len(leader)} characters, not 24"
    # Assemble without length checks: the reader validates sizes and re-serialises.
    directory = bytearray()
    body_bytes = bytearray()
    for tag, data in fields:
        directory += f"{tag}{len(data) + 1:04d}{len(body_bytes):05d}".encode()
        body_bytes += data + b"\x1e"
    base = 24 + len(directory) + 1
    total = base + len(body_bytes) + 1
    if total > 99_999 or any(len(d) + 1 > 9_999 for _, d in fields):
        return None, "record is too large for MARC (over 99,999 bytes or a field over 9,999)"
    lead = f"{total:05d}{leader[5:12]}{base:05d}{leader[17:]}"
    return lead.encode("ascii") + bytes(directory) + b"\x1e" + bytes(body_bytes) + b"\x1d", None


def iter_mrk(stream: BinaryIO, forced: str | None) -> Iterator[Decoded]:
    """Yield one :class:`marc.reader.Decoded` per record of a ``.mrk`` stream."""
    lines: list[str] = []
    raw = bytearray()
    offset = 0
    start = 0
    for line_bytes in stream:
        line = line_bytes.decode("utf-8", "surrogateescape").rstrip("\r\n")
        if line.strip() == "":
            if lines:
                yield _decode(lines, bytes(raw), start, forced)
                lines, raw = [], bytearray()
            offset += len(line_bytes)
            start = offset
            continue
        if line.startswith("=LDR") and lines:  # no blank line between records
            yield _decode(lines, bytes(raw), start, forced)
            lines, raw = [], bytearray()
            start = offset
        if line.startswith("=") or not lines:
            lines.append(line.lstrip("\ufeff"))
        else:  # a wrapped line: continues the field above
            lines[-1] += line
        raw += line_bytes
        offset += len(line_bytes)
    if lines:
        yield _decode(lines, bytes(raw), start, forced)


def _decode(lines: list[str], raw: bytes, offset: int, forced: str | None) -> Decoded:
    marc, reason = mrk_to_iso2709(lines)
    if marc is None:
        cn = next(
            (ln[6:].replace("\\", " ").strip() for ln in lines if ln.startswith("=001  ")), None
        )
        return Decoded(offset=offset, raw=raw, reason=reason, control_number=cn)
    item = decode_iso2709(marc, offset, forced)
    item.raw = raw
    item.canonical = False
    return item


def record_to_mrk(record: pymarc.Record) -> str:
    """The ``.mrk`` text of one record (UTF-8 text, mnemonics only for ``$ { } \\``)."""
    lines = [f"=LDR  {str(record.leader).replace(' ', chr(92))}"]
    for f in record.fields:
        if f.control_field:
            data = "".join(_ESCAPES.get(c, c) for c in (f.data or ""))
            lines.append(f"={f.tag}  {data.replace(' ', chr(92))}")
            continue
        ind1, ind2 = f.indicators or (" ", " ")
        text = "".join(
            "$" + s.code + "".join(_ESCAPES.get(c, c) for c in (s.value or "")) for s in f.subfields
        )
        indicators = ((ind1 or " ") + (ind2 or " ")).replace(" ", "\\")
        lines.append(f"={f.tag}  {indicators}{text}")
    return "\n".join(lines) + "\n"
