"""Legacy Vietnamese 8-bit encodings: TCVN3 (ABC) and VNI, to Unicode and back.

Before Unicode, Vietnamese libraries typed their catalogues with font-based encodings. Two
dominate old CDS/ISIS and Libol exports:

* **TCVN3 / ABC** (TCVN 5712:1993, the ``.Vn*`` fonts): one byte per letter. Lower-case
  letters and the seven bare capitals (Ă Â Ê Ô Ơ Ư Đ) sit in 0xA1–0xFE; capitals with a tone
  mark (VN1 repertoire) sit in 0x80–0x9F, a few in C0 control positions (0x01–0x17) and the
  rest in gaps of 0xAF–0xFF. 0xB0–0xB4 are the five tone marks as combining characters.
* **VNI** (the ``VNI-*`` fonts): a vowel is written as its ASCII base letter followed by one
  byte that draws the marks (``a`` + 0xF9 = ``á``), lower-case marks in 0xE0–0xFC and their
  upper-case twins 0x20 lower. ``ơ ư đ`` and the five toned ``i`` letters and ``ỵ`` are
  single bytes. Everything else is Windows-1252.

Neither can be told from Latin-1 by the bytes alone: the decoders here are only used on
request (``--encoding tcvn3|vni``), and :func:`suggest_encoding` says when a record's bytes
read as plausible Vietnamese in one of them (every word a valid Vietnamese syllable).
"""

from __future__ import annotations

import re
import unicodedata

#: The 134 letters of the Vietnamese alphabet that are not plain ASCII, lower then upper case.
VIETNAMESE_LETTERS_LOWER = "ăâêôơưđàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
VIETNAMESE_LETTERS_UPPER = VIETNAMESE_LETTERS_LOWER.upper()
VIETNAMESE_LETTERS = VIETNAMESE_LETTERS_LOWER + VIETNAMESE_LETTERS_UPPER

# TCVN 5712:1993 (VN1, a superset of the ABC/VN3 font layout). Bytes not listed are ASCII or
# C0 controls and map to themselves; 0xA0 is a no-break space as in Latin-1.
TCVN3_TO_UNICODE: dict[int, str] = {
    0x01: "Ú",
    0x02: "Ụ",
    0x04: "Ừ",
    0x05: "Ử",
    0x06: "Ữ",
    0x11: "Ứ",
    0x12: "Ự",
    0x13: "Ỳ",
    0x14: "Ỷ",
    0x15: "Ỹ",
    0x16: "Ý",
    0x17: "Ỵ",
    0x80: "À",
    0x81: "Ả",
    0x82: "Ã",
    0x83: "Á",
    0x84: "Ạ",
    0x85: "Ặ",
    0x86: "Ậ",
    0x87: "È",
    0x88: "Ẻ",
    0x89: "Ẽ",
    0x8A: "É",
    0x8B: "Ẹ",
    0x8C: "Ệ",
    0x8D: "Ì",
    0x8E: "Ỉ",
    0x8F: "Ĩ",
    0x90: "Í",
    0x91: "Ị",
    0x92: "Ò",
    0x93: "Ỏ",
    0x94: "Õ",
    0x95: "Ó",
    0x96: "Ọ",
    0x97: "Ộ",
    0x98: "Ờ",
    0x99: "Ở",
    0x9A: "Ỡ",
    0x9B: "Ớ",
    0x9C: "Ợ",
    0x9D: "Ù",
    0x9E: "Ủ",
    0x9F: "Ũ",
    0xA1: "Ă",
    0xA2: "Â",
    0xA3: "Ê",
    0xA4: "Ô",
    0xA5: "Ơ",
    0xA6: "Ư",
    0xA7: "Đ",
    0xA8: "ă",
    0xA9: "â",
    0xAA: "ê",
    0xAB: "ô",
    0xAC: "ơ",
    0xAD: "ư",
    0xAE: "đ",
    0xAF: "Ằ",
    0xB0: "\u0300",
    0xB1: "\u0309",
    0xB2: "\u0303",
    0xB3: "\u0301",
    0xB4: "\u0323",
    0xB5: "à",
    0xB6: "ả",
    0xB7: "ã",
    0xB8: "á",
    0xB9: "ạ",
    0xBA: "Ẳ",
    0xBB: "ằ",
    0xBC: "ẳ",
    0xBD: "ẵ",
    0xBE: "ắ",
    0xBF: "Ẵ",
    0xC0: "Ắ",
    0xC1: "Ầ",
    0xC2: "Ẩ",
    0xC3: "Ẫ",
    0xC4: "Ấ",
    0xC5: "Ề",
    0xC6: "ặ",
    0xC7: "ầ",
    0xC8: "ẩ",
    0xC9: "ẫ",
    0xCA: "ấ",
    0xCB: "ậ",
    0xCC: "è",
    0xCD: "Ể",
    0xCE: "ẻ",
    0xCF: "ẽ",
    0xD0: "é",
    0xD1: "ẹ",
    0xD2: "ề",
    0xD3: "ể",
    0xD4: "ễ",
    0xD5: "ế",
    0xD6: "ệ",
    0xD7: "ì",
    0xD8: "ỉ",
    0xD9: "Ễ",
    0xDA: "Ế",
    0xDB: "Ồ",
    0xDC: "ĩ",
    0xDD: "í",
    0xDE: "ị",
    0xDF: "ò",
    0xE0: "Ổ",
    0xE1: "ỏ",
    0xE2: "õ",
    0xE3: "ó",
    0xE4: "ọ",
    0xE5: "ồ",
    0xE6: "ổ",
    0xE7: "ỗ",
    0xE8: "ố",
    0xE9: "ộ",
    0xEA: "ờ",
    0xEB: "ở",
    0xEC: "ỡ",
    0xED: "ớ",
    0xEE: "ợ",
    0xEF: "ù",
    0xF0: "Ỗ",
    0xF1: "ủ",
    0xF2: "ũ",
    0xF3: "ú",
    0xF4: "ụ",
    0xF5: "ừ",
    0xF6: "ử",
    0xF7: "ữ",
    0xF8: "ứ",
    0xF9: "ự",
    0xFA: "ỳ",
    0xFB: "ỷ",
    0xFC: "ỹ",
    0xFD: "ý",
    0xFE: "ỵ",
    0xFF: "Ố",
}

_TCVN3_DECODE = "".join(TCVN3_TO_UNICODE.get(b, chr(b)) for b in range(256))
_TCVN3_ENCODE: dict[str, int] = {
    ch: b for b, ch in TCVN3_TO_UNICODE.items() if not unicodedata.combining(ch)
}

_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE = "\u0302", "\u0306"
_TONES = _ACUTE + _GRAVE + _HOOK + _TILDE + _DOT

# VNI mark bytes (lower-case forms; the upper-case form of each is 0x20 lower) and the
# combining marks they stand for, in canonical order (vowel modifier first, then tone).
VNI_MARKS: dict[int, str] = {
    0xF9: _ACUTE,
    0xF8: _GRAVE,
    0xFB: _HOOK,
    0xF5: _TILDE,
    0xEF: _DOT,
    0xE2: _CIRC,
    0xEA: _BREVE,
    0xE1: _CIRC + _ACUTE,
    0xE0: _CIRC + _GRAVE,
    0xE5: _CIRC + _HOOK,
    0xE3: _CIRC + _TILDE,
    0xE4: _CIRC + _DOT,
    0xE9: _BREVE + _ACUTE,
    0xE8: _BREVE + _GRAVE,
    0xFA: _BREVE + _HOOK,
    0xFC: _BREVE + _TILDE,
    0xEB: _BREVE + _DOT,
}
_VNI_MARKS_ALL: dict[int, str] = {**VNI_MARKS, **{b - 0x20: m for b, m in VNI_MARKS.items()}}

# Letters VNI writes as one byte (upper-case twin 0x20 lower).
VNI_SINGLES: dict[int, str] = {
    0xF4: "ơ",
    0xF6: "ư",
    0xF1: "đ",
    0xED: "í",
    0xEC: "ì",
    0xE6: "ỉ",
    0xF3: "ĩ",
    0xF2: "ị",
    0xEE: "ỵ",
}
_VNI_SINGLES_ALL: dict[int, str] = {
    **VNI_SINGLES,
    **{b - 0x20: ch.upper() for b, ch in VNI_SINGLES.items()},
}
# Bytes a VNI mark byte may follow: the vowels (ASCII or the single-byte ơ ư).
_VNI_BASES = frozenset(b"aeiouyAEIOUY") | {0xF4, 0xF6, 0xD4, 0xD6}


def decode_tcvn3(data: bytes) -> str:
    """Decode TCVN3 (ABC) bytes to NFC Unicode."""
    return unicodedata.normalize("NFC", data.decode("latin-1").translate(_TCVN3_TABLE))


_TCVN3_TABLE = {i: ch for i, ch in enumerate(_TCVN3_DECODE) if ord(ch) != i}


def encode_tcvn3(text: str) -> bytes:
    """Encode Unicode text to TCVN3 bytes (precomposed letters; used by tests and tools).

    Raises ``ValueError`` for a character TCVN3 cannot represent.
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch])
        elif ord(ch) < 0x80:
            out.append(ord(ch))
        else:
            raise ValueError(f"TCVN3 has no code for {ch!r} (U+{ord(ch):04X})")
    return bytes(out)


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


def decode_vni(data: bytes) -> str:
    """Decode VNI bytes to NFC Unicode.

    A mark byte right after a vowel combines with it; anywhere else it is read as the
    Windows-1252 character it is in a non-VNI font, so nothing is lost.
    """
    out: list[str] = []
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        nxt = data[i + 1] if i + 1 < n else -1
        if b in _VNI_BASES and nxt in _VNI_MARKS_ALL:
            base = _VNI_SINGLES_ALL.get(b) or chr(b)
            out.append(base + _VNI_MARKS_ALL[nxt])
            i += 2
            continue
        if b in _VNI_SINGLES_ALL:
            out.append(_VNI_SINGLES_ALL[b])
        elif b < 0x80:
            out.append(chr(b))
        else:
            out.append(_cp1252_char(b))
        i += 1
    return unicodedata.normalize("NFC", "".join(out))


_VNI_SINGLE_ENCODE = {ch: b for b, ch in _VNI_SINGLES_ALL.items()}
_VNI_MARK_ENCODE = {"".join(sorted(m)): b for b, m in VNI_MARKS.items()}


def encode_vni(text: str) -> bytes:
    """Encode Unicode text to VNI bytes (used by tests and tools).

    Raises ``ValueError`` for a character VNI cannot represent.
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ch in _VNI_SINGLE_ENCODE:
            out.append(_VNI_SINGLE_ENCODE[ch])
            continue
        if ord(ch) < 0x80:
            out.append(ord(ch))
            continue
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        if base in "oOuU" and marks.startswith("\u031b"):  # horn: ơ ư are single bytes
            base = unicodedata.normalize("NFC", base + "\u031b")
            marks = marks[1:]
        if base == "i" or base == "I":
            raise ValueError(f"VNI has no code for {ch!r}")
        code = _VNI_MARK_ENCODE.get("".join(sorted(marks)))
        base_code = _VNI_SINGLE_ENCODE.get(base, ord(base) if ord(base) < 0x80 else None)
        if code is None or base_code is None:
            raise ValueError(f"VNI has no code for {ch!r} (U+{ord(ch):04X})")
        out.append(base_code)
        out.append(code - 0x20 if ch.isupper() else code)
    return bytes(out)


# A Vietnamese syllable once its tone mark is removed: optional onset, a vowel nucleus of one
# to three letters, optional coda. Loose on purpose (it only has to tell Vietnamese from
# mojibake), but strict enough that Latin-1 or VNI bytes read as TCVN3 fail it.
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?"
    r"[aăâeêioôơuưy]{1,3}"
    r"(?:ch|ng|nh|[cmnpt])?"
)
_WORD = re.compile(r"[^\W\d_]+")
_VIET_ONLY = frozenset(VIETNAMESE_LETTERS) - frozenset("àáãèéìíòóõùúýÀÁÃÈÉÌÍÒÓÕÙÚÝâêôÂÊÔ")


def is_vietnamese_syllable(word: str) -> bool:
    """True when ``word`` is spelt like one Vietnamese syllable (at most one tone mark)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = sum(1 for ch in decomposed if ch in _TONES)
    if tones > 1:
        return False
    bare = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    return _SYLLABLE.fullmatch(bare) is not None


def vietnamese_score(text: str) -> tuple[int, float, float]:
    """How Vietnamese ``text`` looks: (words with a Vietnamese-only letter, share of the
    words with non-ASCII letters that are valid syllables, share of all words that have
    non-ASCII letters)."""
    distinctive = 0
    accented = 0
    valid = 0
    words = 0
    for word in _WORD.findall(text):
        if len(word) < 2:  # lone letters (character tables, initials) prove nothing
            continue
        words += 1
        if word.isascii():
            continue
        accented += 1
        if is_vietnamese_syllable(word):
            valid += 1
            if any(ch in _VIET_ONLY for ch in word):
                distinctive += 1
    return (
        distinctive,
        (valid / accented if accented else 0.0),
        (accented / words if words else 0.0),
    )


def suggest_encoding(data: bytes, min_words: int = 2) -> str | None:
    """``"tcvn3"`` or ``"vni"`` when ``data`` reads as Vietnamese in that encoding, else None.

    Needs at least ``min_words`` words with letters only Vietnamese uses (ơ, ư, đ, ạ, ế…),
    nine in ten accented words to be valid syllables, and a quarter of all words accented
    (Vietnamese marks most syllables; a Danish or French record read as TCVN3 does not).
    """
    if data.isascii():
        return None
    best: tuple[int, str] | None = None
    for name, decode in (("tcvn3", decode_tcvn3), ("vni", decode_vni)):
        distinctive, share, density = vietnamese_score(decode(data))
        if (
            distinctive >= min_words
            and share >= 0.9
            and density >= 0.25
            and (best is None or distinctive > best[0])
        ):
            best = (distinctive, name)
    return best[1] if best else None
