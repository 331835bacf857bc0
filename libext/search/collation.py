"""Vietnamese alphabetical order as a binary sort key (what ICU's ``vi`` collation gives).

The Vietnamese alphabet is ``a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y``:
ă, â, đ, ê, ô, ơ and ư are letters of their own, not a with a mark, so code-point order
(which puts Đ and Ư after Z) and accent-stripping order (which mixes đ into d) are both wrong.
Tone marks are a second-level difference, ordered as CLDR's Vietnamese tailoring orders them:
no tone < huyền (grave) < hỏi (hook) < ngã (tilde) < sắc (acute) < nặng (dot below). Case is
a third-level difference (lower before upper). As in ICU, the levels are compared one after
the other over the whole string: ``ba`` < ``bà`` < ``bá`` < ``bă`` because letters (ă vs a)
outrank tones. Spaces and punctuation are not ignored (ICU's "non-ignorable" default), digits
come before letters.

:func:`sort_key` returns bytes that compare with plain ``memcmp`` in the same order, so they can
be stored in a ``BLOB``/``bytea`` column and sorted by SQLite or PostgreSQL without any
database collation. The tests check it against PyICU's ``Collator`` for ``vi`` when PyICU is
installed. Scripts other than Latin are placed after Latin letters in code-point order (a
deliberate simplification: this catalogue's titles are Vietnamese, English and French).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["sort_key"]

# Primary weights: each a 2-byte big-endian number >= 0x0200, so the 0x01 level separator
# sorts before any weight (a string that is a prefix of another sorts first).
_SEPARATOR = b"\x01"

# Whitespace and ASCII punctuation/symbols in the order of the CLDR root collation (derived
# from ICU: sorted(string.punctuation, key=Collator("vi").getSortKey)).
_PUNCTUATION_ORDER = "\t\n\x0b\x0c\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_PUNCT_BASE = 0x0200
_OTHER_SYMBOL_BASE = 0x0300  # non-ASCII punctuation and symbols, by code point (approximate)
_DIGIT_BASE = 0x0400
_LETTER_BASE = 0x0500
_OTHER_LETTER_BASE = 0x1000  # + code point: letters of other scripts

# Vietnamese alphabet, extended with the Latin letters it lacks (f j w z) at their usual places.
_ALPHABET = ["a", "ă", "â", "b", "c", "d", "đ", "e", "ê", "f", "g", "h", "i", "j", "k", "l"]
_ALPHABET += ["m", "n", "o", "ô", "ơ", "p", "q", "r", "s", "t", "u", "ư", "v", "w", "x", "y", "z"]
_LETTER_WEIGHT = {letter: _LETTER_BASE + i for i, letter in enumerate(_ALPHABET)}

# Base letter + combining mark that together form a letter of the Vietnamese alphabet (ICU
# treats them as contractions with their own primary weight).
_VIETNAMESE_CONTRACTIONS = {
    ("a", "\u0306"): "ă",
    ("a", "\u0302"): "â",
    ("e", "\u0302"): "ê",
    ("o", "\u0302"): "ô",
    ("o", "\u031b"): "ơ",
    ("u", "\u031b"): "ư",
}

# Secondary weights. Common (a letter with no mark) is lowest; then the five tones in the
# order of CLDR's vi tailoring (&̀<<̉<<̃<<́<<̣); then any other mark, by code point.
_SECONDARY_COMMON = 0x05
_TONE_WEIGHT = {"\u0300": 0x10, "\u0309": 0x11, "\u0303": 0x12, "\u0301": 0x13, "\u0323": 0x14}
_OTHER_MARK_BASE = 0x20

_TERTIARY_LOWER = 0x05
_TERTIARY_UPPER = 0x8F


def _primary_of(char: str) -> int | None:
    """Primary weight of a base (non-combining) character; None when it is ignorable."""
    lower = char.lower()
    weight = _LETTER_WEIGHT.get(lower)
    if weight is not None:
        return weight
    index = _PUNCTUATION_ORDER.find(char)
    if index >= 0:
        return _PUNCT_BASE + index
    if char.isdecimal():
        return _DIGIT_BASE + unicodedata.decimal(char)
    category = unicodedata.category(char)
    if category in ("Cc", "Cf"):
        return None  # controls and format characters are completely ignorable in ICU
    if category[0] in "LN":
        return _OTHER_LETTER_BASE + min(ord(lower[0]), 0xEFFF)
    if category[0] == "Z":
        return _PUNCT_BASE + _PUNCTUATION_ORDER.index(" ")
    return _OTHER_SYMBOL_BASE + min(ord(char), 0xFF)


def _mark_weight(mark: str) -> int:
    weight = _TONE_WEIGHT.get(mark)
    if weight is not None:
        return weight
    return min(_OTHER_MARK_BASE + (ord(mark) & 0xFF), 0xFE)


@lru_cache(maxsize=4096)
def _element(cluster: str) -> tuple[bytes, bytes, int] | None:
    """Weights of one base character with its combining marks (NFD), or None if ignorable."""
    char, marks = cluster[0], list(cluster[1:])
    weight = _primary_of(char)
    if weight is None:
        return None
    base = char.lower()
    # The first mark that makes a Vietnamese letter with this base is part of the letter
    # (in NFD a dot below comes before the circumflex: "ậ" is a + U+0323 + U+0302).
    for mark in marks:
        letter = _VIETNAMESE_CONTRACTIONS.get((base, mark))
        if letter is not None:
            weight = _LETTER_WEIGHT[letter]
            marks.remove(mark)
            break
    secondary = bytes([_SECONDARY_COMMON, *(_mark_weight(mark) for mark in marks)])
    tertiary = _TERTIARY_UPPER if char != base else _TERTIARY_LOWER
    return weight.to_bytes(2, "big"), secondary, tertiary


@lru_cache(maxsize=4096)
def _decomposed(char: str) -> str:
    return unicodedata.normalize("NFD", char)


def sort_key(text: str) -> bytes:
    """Return bytes that sort ``text`` in Vietnamese alphabetical order (NFC or NFD input)."""
    # Work on NFC (one precomposed character per Vietnamese letter, so per-character weights
    # can be cached); marks NFC cannot compose stay as combining characters after their base.
    composed = unicodedata.normalize("NFC", text)
    known = _CHARACTERS
    try:
        elements = [known[char] for char in composed]
    except KeyError:
        elements = [known[char] if char in known else _character(char) for char in composed]
    if _MARK in elements:  # a mark NFC left apart weighs with the letter before it
        return _clustered_key(composed)
    present = [element for element in elements if element is not None]
    return b"".join(
        (
            b"".join([element[0] for element in present]),
            _SEPARATOR,
            b"".join([element[1] for element in present]),
            _SEPARATOR,
            bytes([element[2] for element in present]),
        )
    )


# A character's weights (None if ignorable), or _MARK for a combining mark, which makes
# :func:`sort_key` weigh the text cluster by cluster. Filled as characters are met, up to a
# bound (a text can hold any of a million code points).
_Element = tuple[bytes, bytes, int]
_MARK = False
_CHARACTERS: dict[str, _Element | bool | None] = {}
_MAX_CHARACTERS = 10_000


def _character(char: str) -> _Element | bool | None:
    if unicodedata.combining(char):
        element: _Element | bool | None = _MARK
    else:
        cluster = _decomposed(char)
        # NFD can start with a mark (U+0F73...): such a character is ignorable, as below.
        element = None if unicodedata.combining(cluster[0]) else _element(cluster)
    if len(_CHARACTERS) < _MAX_CHARACTERS:
        _CHARACTERS[char] = element
    return element


def _clustered_key(composed: str) -> bytes:
    primary = bytearray()
    secondary = bytearray()
    tertiary = bytearray()
    i, n = 0, len(composed)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(composed[j]):
            j += 1
        cluster = (
            _decomposed(composed[i]) if j == i + 1 else unicodedata.normalize("NFD", composed[i:j])
        )
        i = j
        if unicodedata.combining(cluster[0]):
            continue  # a mark with no base character: ignorable
        element = _element(cluster)
        if element is None:
            continue
        primary += element[0]
        secondary += element[1]
        tertiary.append(element[2])
    return bytes(primary) + _SEPARATOR + bytes(secondary) + _SEPARATOR + bytes(tertiary)
