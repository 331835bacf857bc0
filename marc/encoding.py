"""Character encodings of MARC data: MARC-8, UTF-8, and the wrong ones found in the wild.

MARC 21 allows two encodings, told apart by leader position 09: ``a`` for UCS/Unicode
(UTF-8) and blank for MARC-8. Real files do not always tell the truth:

* leader/09 says ``a`` but the bytes are MARC-8 (an old system stamped the leader after a
  lossy "conversion" that only changed the flag), or Latin-1;
* leader/09 is blank but the bytes are UTF-8 (a newer system that never set the flag);
* leader/09 is blank and the bytes are a national 8-bit code page (Windows-1251, CP866,
  TCVN3, VNI...) that a local system wrote without any MARC-8 conversion.

A naive MARC-8 decoder turns the last case into mojibake without any error. The functions
here decode strictly (counting bytes that are not valid in the claimed encoding), score how
plausible the decoded text is, and say which encoding the record really is in.

Everything returned is NFC: MARC-8 and NFD data spell Vietnamese letters as base letter plus
combining marks, which NFC composes into the precomposed letters people type and search.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from pymarc import marc8_mapping

from marc.errors import UnknownEncoding
from marc.vietnamese import decode_tcvn3, decode_vni, suggest_encoding, vietnamese_score

Decoder = Callable[[bytes], str]

_ESC = 0x1B
_BASIC_LATIN = 0x42
_ANSEL = 0x45
_EACC = 0x31  # the only multibyte MARC-8 set (East Asian, three bytes per character)
_CODESETS: dict[int, dict[int, tuple[int, int]]] = marc8_mapping.CODESETS
# Technique 1 escapes ("ESC g", "ESC b", "ESC p") switch G0 to Greek symbols, subscripts or
# superscripts; "ESC s" switches back to ASCII.
_TECHNIQUE1 = {0x67: 0x67, 0x62: 0x62, 0x70: 0x70, 0x73: _BASIC_LATIN}
# ANSEL writes a ligature or double tilde as two halves (0xEB/0xEC, 0xFA/0xFB). Like
# yaz-marcdump, the first half becomes the one combining double mark (U+0361 / U+0360) and
# the second half is dropped, instead of the legacy half marks U+FE20-FE23.
_ANSEL_OVERRIDES = {0xEB: ("\u0361", 1), 0xEC: ("", 1), 0xFA: ("\u0360", 1), 0xFB: ("", 1)}
# Code points of ANSEL's C1 area that MARC-8 defines (non-sort begin/end, joiners).
_ANSEL_C1 = {0x88: "\u0098", 0x89: "\u009c", 0x8D: "\u200d", 0x8E: "\u200c"}
#: Stands for a byte that has no meaning in the encoding it was decoded with.
REPLACEMENT = "\ufffd"


@dataclass(slots=True)
class Marc8Result:
    """The text a MARC-8 byte string decodes to, and how many bytes were not MARC-8."""

    text: str
    errors: int = 0


def _lookup(charset: int, code: int) -> tuple[int, int] | None:
    table = _CODESETS.get(charset)
    if table is None:
        return None
    # Tables are keyed by the position the set is normally designated to (G0 low, G1 high);
    # a set designated to the other half is looked up with the high bit flipped.
    return table.get(code) or table.get(code ^ 0x80)


def marc8_decode(data: bytes) -> Marc8Result:
    """Decode one MARC-8 string (a subfield's data) to NFC text, strictly.

    Combining diacritics, which MARC-8 puts *before* their base letter, are moved after it.
    A byte that is undefined in the current character set becomes U+FFFD and is counted in
    ``errors``; so is an incomplete or unknown escape sequence.
    """
    out: list[str] = []
    pending: list[str] = []  # combining marks waiting for their base character
    g0, g1 = _BASIC_LATIN, _ANSEL
    errors = 0
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == _ESC:
            if i + 1 >= n:
                errors += 1
                break
            nxt = data[i + 1]
            if nxt in _TECHNIQUE1:
                g0 = _TECHNIQUE1[nxt]
                i += 2
                continue
            j = i + 1
            multibyte = False
            if data[j] == 0x24:  # "$": a multibyte set follows
                multibyte = True
                j += 1
            target = 0
            if j < n and data[j] in (0x28, 0x2C):  # "(" or ",": designate G0
                target = 0
                j += 1
            elif j < n and data[j] in (0x29, 0x2D):  # ")" or "-": designate G1
                target = 1
                j += 1
            elif not multibyte:
                errors += 1
                i += 2
                continue
            if j < n and data[j] == 0x21:  # "!": intermediate of the ANSEL designation
                j += 1
            if j >= n:
                errors += 1
                break
            final = data[j]
            if final not in _CODESETS:
                errors += 1
            elif target == 0:
                g0 = final
            else:
                g1 = final
            i = j + 1
            continue
        if g0 == _EACC and 0x21 <= b <= 0x7E:
            if i + 3 <= n:
                code = (b << 16) | (data[i + 1] << 8) | data[i + 2]
                hit = _CODESETS[_EACC].get(code) or _lookup_odd(code)
                if hit is not None:
                    out.append(chr(hit[0]))
                    i += 3
                    if pending:
                        out.extend(pending)
                        pending = []
                    continue
            errors += 1
            out.append(REPLACEMENT)
            i += 1
            continue
        if b < 0x20 or b == 0x7F:
            out.append(chr(b))
            i += 1
            continue
        if b == 0x20:
            char, combining = " ", 0
        elif 0x80 <= b < 0xA0:
            if g1 == _ANSEL and b in _ANSEL_C1:
                out.append(_ANSEL_C1[b])
            else:
                errors += 1
                out.append(REPLACEMENT)
            i += 1
            continue
        elif b >= 0xA0 and g1 == _ANSEL and b in _ANSEL_OVERRIDES:
            char, combining = _ANSEL_OVERRIDES[b]
            i += 1
            if char:
                pending.append(char)
            continue
        else:
            hit = _lookup(g0 if b < 0x80 else g1, b)
            if hit is None:
                errors += 1
                out.append(REPLACEMENT)
                i += 1
                continue
            char, combining = chr(hit[0]), hit[1]
        i += 1
        if combining:
            pending.append(char)
            continue
        out.append(char)
        if pending:
            out.extend(pending)
            pending = []
    if pending:  # marks with no base letter: keep them rather than lose them
        out.extend(pending)
    return Marc8Result(unicodedata.normalize("NFC", "".join(out)), errors)


def _lookup_odd(code: int) -> tuple[int, int] | None:
    # A few three-byte codes some systems (III) wrote for punctuation outside EACC proper.
    mapped = marc8_mapping.ODD_MAP.get(code)
    return (mapped, 0) if mapped is not None else None


def _marc8(data: bytes) -> str:
    return marc8_decode(data).text


def _codec(name: str) -> Decoder:
    def decode(data: bytes) -> str:
        return unicodedata.normalize("NFC", data.decode(name, "replace"))

    return decode


def _utf8(data: bytes) -> str:
    return unicodedata.normalize("NFC", data.decode("utf-8", "replace"))


#: Encoding names the reader accepts for ``encoding=`` (aliases map to these).
ENCODINGS: dict[str, Decoder] = {
    "utf-8": _utf8,
    "marc-8": _marc8,
    "latin-1": _codec("latin-1"),
    "cp1252": _codec("cp1252"),
    "cp1251": _codec("cp1251"),
    "cp866": _codec("cp866"),
    "koi8-r": _codec("koi8-r"),
    "tcvn3": decode_tcvn3,
    "vni": decode_vni,
}
_ALIASES = {
    "utf8": "utf-8",
    "unicode": "utf-8",
    "marc8": "marc-8",
    "ansel": "marc-8",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
    "latin1": "latin-1",
    "windows-1252": "cp1252",
    "windows-1251": "cp1251",
    "tcvn": "tcvn3",
    "abc": "tcvn3",
    "tcvn5712": "tcvn3",
    "vni-windows": "vni",
}


def canonical_encoding(name: str) -> str:
    """The canonical name of a user-given encoding (``"UTF8"`` → ``"utf-8"``).

    ``"auto"`` stays ``"auto"``. Other Python codec names are accepted as they are.
    Raises :class:`UnknownEncoding` for a name nothing knows.
    """
    key = name.strip().lower().replace("_", "-")
    if key in ("auto", ""):
        return "auto"
    key = _ALIASES.get(key, key)
    if key in ENCODINGS:
        return key
    try:
        codecs.lookup(key)
    except LookupError:
        known = ", ".join(sorted(ENCODINGS))
        raise UnknownEncoding(f"unknown encoding {name!r}; use one of: auto, {known}") from None
    return key


def decoder_for(name: str) -> Decoder:
    """The decoding function for a canonical encoding name (see :func:`canonical_encoding`)."""
    return ENCODINGS.get(name) or _codec(name)


# -- plausibility -------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+")


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "?"


def implausible_words(text: str) -> tuple[int, int]:
    """(implausible, total) counts over the words of ``text`` that are not plain ASCII.

    A word is implausible when it mixes scripts (Latin with Cyrillic...), has a capital
    after a small letter, is a Latin word of four or more letters that is mostly accented
    letters, contains a replacement or control character, or has a combining mark that
    sits on nothing. Those are the shapes mojibake takes; real text rarely does.
    """
    bad = total = 0
    for word in _WORD.findall(unicodedata.normalize("NFC", text)):
        if word.isascii():
            continue
        total += 1
        scripts = {_script(ch) for ch in word if not unicodedata.combining(ch)}
        if len(scripts) > 1 or unicodedata.combining(word[0]):
            bad += 1
            continue
        if any(a.islower() and b.isupper() for a, b in pairwise(word)):
            bad += 1
            continue
        if scripts == {"LATIN"} and len(word) >= 4:
            accented = sum(1 for ch in word if not ch.isascii())
            if accented * 2 > len(word):
                bad += 1
    # Junk outside words: replacement characters, C1 controls, and symbols (box drawing,
    # modifier signs, private use) that only show up when the bytes were meant as letters.
    junk = sum(
        1
        for ch in text
        if ch == REPLACEMENT
        or 0x80 <= ord(ch) < 0xA0
        or (not ch.isascii() and unicodedata.category(ch) in ("So", "Co", "Cn", "Sk"))
    )
    return bad + junk, total + junk


@dataclass(slots=True)
class Detection:
    """What :func:`detect` concluded about one record's bytes.

    ``encoding`` is the encoding to decode with, or None when the record should be rejected
    (``reason`` then says why). ``warnings`` are sentences for the import report;
    ``suggestion`` is an ``--encoding`` value worth trying for this file.
    """

    encoding: str | None
    warnings: list[str] = field(default_factory=list)
    reason: str | None = None
    suggestion: str | None = None


_CANDIDATES = ("cp1251", "cp866", "koi8-r", "cp1252")
_LABELS = {
    "utf-8": "UTF-8",
    "marc-8": "MARC-8",
    "cp1251": "Windows-1251 (Cyrillic)",
    "cp866": "CP866 (DOS Cyrillic)",
    "koi8-r": "KOI8-R (Cyrillic)",
    "cp1252": "Windows-1252/Latin-1",
    "latin-1": "Latin-1",
    "tcvn3": "TCVN3 (ABC, Vietnamese)",
    "vni": "VNI (Vietnamese)",
}


def label(encoding: str) -> str:
    """A cataloguer-readable name for an encoding."""
    return _LABELS.get(encoding, encoding)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _share(text: str) -> float:
    """Share of implausible words in ``text``; 1.0 when nothing non-ASCII reads as a word."""
    bad, total = implausible_words(text)
    return bad / total if total else 1.0


def _best_alternative(chunks: Sequence[bytes]) -> tuple[str, float] | None:
    """The national 8-bit encoding under which ``chunks`` read as plausible text, if any,
    with the share of implausible words it leaves."""
    joined = b" ".join(chunk for chunk in chunks if not chunk.isascii())
    viet = suggest_encoding(joined)
    if viet:
        return viet, _share(decoder_for(viet)(joined))
    best: tuple[str, float] | None = None
    for name in _CANDIDATES:
        share = _share(decoder_for(name)(joined))
        if share <= 0.1 and (best is None or share < best[1]):
            best = (name, share)
    return best


_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _has_utf8_sequences(chunks: Sequence[bytes]) -> bool:
    return any(_UTF8_MULTIBYTE.search(chunk) for chunk in chunks if not chunk.isascii())


_LETTER_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _dangling_marks(chunk: bytes) -> int:
    """ANSEL combining-mark bytes (0xE0-0xFE) not followed by a letter or another mark.

    MARC-8 puts a diacritic right before its base letter, so a mark byte before a space,
    a digit or the end of the data is a sign the bytes are a code page where 0xE0-0xFE are
    accented letters (Latin-1 "café", Windows-1251 Cyrillic...).
    """
    if _ESC in chunk:  # other character sets in play: leave judgement to the decoder
        return 0
    dangling = 0
    n = len(chunk)
    for i, b in enumerate(chunk):
        if 0xE0 <= b <= 0xFE:
            nxt = chunk[i + 1] if i + 1 < n else -1
            if nxt not in _LETTER_BYTES and not (0xE0 <= nxt <= 0xFE) and not (0xA1 <= nxt <= 0xBF):
                dangling += 1
    return dangling


def _marc8_quality(chunks: Sequence[bytes]) -> tuple[int, int]:
    """(undefined bytes, dangling diacritics) of ``chunks`` read as MARC-8."""
    errors = sum(marc8_decode(chunk).errors for chunk in chunks)
    dangling = sum(_dangling_marks(chunk) for chunk in chunks)
    return errors, dangling


def detect(chunks: Sequence[bytes], leader09: str) -> Detection:
    """Decide how to decode a record whose data (subfield values, control field data) are
    ``chunks`` and whose leader/09 is ``leader09``.

    * Pure ASCII: whatever the leader says.
    * Leader says UTF-8: valid UTF-8 is taken. Otherwise, bytes that hold UTF-8 sequences
      are broken UTF-8 and rejected; bytes that are clean MARC-8 are converted from MARC-8
      with a warning that leader/09 is wrong; anything else is rejected as invalid UTF-8,
      with an ``--encoding`` suggestion when a code page fits.
    * Leader says MARC-8: valid UTF-8 with non-ASCII characters is taken as UTF-8 with a
      warning (MARC-8 text is practically never valid UTF-8); clean MARC-8 is taken; bytes
      that read clearly better in a national code page than in MARC-8 are rejected with
      that suggestion; MARC-8 with a few defects is taken, the defects listed as warnings.
    """
    if all(chunk.isascii() for chunk in chunks):
        if not any(b"\x1b" in chunk for chunk in chunks):
            return Detection("utf-8" if leader09 == "a" else "marc-8")
        # 7-bit but with escape sequences: MARC-8 with other character sets (CJK, Greek…)
        errors = sum(marc8_decode(chunk).errors for chunk in chunks)
        warnings = []
        if leader09 == "a":
            warnings.append("leader/09 says UTF-8 but the data is MARC-8; converted from MARC-8")
        if errors:
            warnings.append(f"{errors} byte(s) undefined in MARC-8 were replaced by U+FFFD")
        return Detection("marc-8", warnings)
    if leader09 == "a":
        if all(_is_utf8(chunk) for chunk in chunks):
            return Detection("utf-8")
        bad = _first_bad_utf8(chunks)
        if _has_utf8_sequences(chunks):
            return Detection(None, reason=f"invalid UTF-8 ({bad})")
        errors, dangling = _marc8_quality(chunks)
        if errors == 0 and dangling == 0:
            return Detection(
                "marc-8",
                ["leader/09 says UTF-8 but the data is MARC-8; converted from MARC-8"],
            )
        alternative = _best_alternative(chunks)
        reason = f"invalid UTF-8 ({bad}; leader/09 says UTF-8)"
        if alternative:
            reason += f"; the bytes look like {label(alternative[0])}"
            return Detection(None, reason=reason, suggestion=alternative[0])
        return Detection(None, reason=reason)
    # leader/09 blank (or anything else: treated as MARC-8, as MARC 21 does)
    if all(_is_utf8(chunk) for chunk in chunks):
        return Detection("utf-8", ["leader/09 says MARC-8 but the data is UTF-8; read as UTF-8"])
    errors, dangling = _marc8_quality(chunks)
    # TCVN3/VNI bytes often decode as "clean" MARC-8 (their letters sit where ANSEL has
    # diacritics): when they spell valid Vietnamese syllables and MARC-8 does not, say so.
    joined = b" ".join(chunk for chunk in chunks if not chunk.isascii())
    viet = suggest_encoding(joined)
    if viet:
        marc8_text = " ".join(marc8_decode(c).text for c in chunks if not c.isascii())
        _, marc8_valid, _ = vietnamese_score(marc8_text)
        if marc8_valid < 0.9:
            return Detection(
                None,
                reason=f"the data is not MARC-8 as leader/09 says: it looks like {label(viet)}",
                suggestion=viet,
            )
    if errors == 0 and dangling == 0:
        return Detection("marc-8")
    alternative = _best_alternative(chunks)
    if alternative:
        marc8_share = _share(" ".join(marc8_decode(c).text for c in chunks if not c.isascii()))
        if alternative[1] + 0.25 < marc8_share or (dangling and errors * 4 >= dangling):
            name = alternative[0]
            return Detection(
                None,
                reason=f"the data is not MARC-8 as leader/09 says: it looks like {label(name)}",
                suggestion=name,
            )
    warnings = []
    if errors:
        warnings.append(f"{errors} byte(s) undefined in MARC-8 were replaced by U+FFFD")
    if dangling:
        warnings.append(f"{dangling} MARC-8 diacritic(s) stand before no letter")
    return Detection("marc-8", warnings)


def _first_bad_utf8(chunks: Sequence[bytes]) -> str:
    for chunk in chunks:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            context = chunk[max(0, exc.start - 12) : exc.start].decode("utf-8", "replace")
            return f"byte 0x{chunk[exc.start]:02X} after {context!r}"
    return "no valid UTF-8"  # pragma: no cover
