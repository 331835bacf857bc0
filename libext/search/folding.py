"""Vietnamese-aware text folding and the one tokenizer shared by indexing and querying.

Two forms of every text are indexed:

* **folded** (:func:`fold`): case, every Latin diacritic and đ/Đ folded away, so a reader who
  types ``truyen kieu`` on a phone without a Vietnamese keyboard finds *Truyện Kiều*;
* **exact** (:func:`exact`): NFC, lower-cased, diacritics kept, so matches that carry the
  query's own tone marks can be ranked first (folding conflates ``duong`` = dương, đường,
  đương, dưỡng…).

Input may arrive NFC (what the store keeps) or NFD (macOS keyboards, some MARC-8 conversions):
both fold alike. SQLite's own ``unicode61 remove_diacritics 2`` cannot be relied on for this:
đ (U+0111) has no Unicode decomposition, so it stays đ there, and ``lower()``/``LIKE`` are
ASCII-only. Hence the folding is done here, in Python, identically for both engines.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "MAX_TOKEN_LENGTH",
    "exact",
    "exact_tokens",
    "fold",
    "fold_tokens",
    "tokenize",
]

#: Tokens longer than this are cut: nothing real is that long, and it bounds query work.
MAX_TOKEN_LENGTH = 64

# Combining diacritical marks of Latin, Greek and Cyrillic text (the blocks that NFD produces
# for precomposed letters). Marks of other scripts (Devanagari vowel signs, Thai tone marks) are
# part of their letters and are kept.
_COMBINING_BLOCKS = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
)

# Letters with a stroke or a ligature have no canonical decomposition, so NFD leaves them
# whole. đ is the one that matters most here. Ð/ð (U+00D0/U+00F0, the Icelandic eth) are
# included on purpose: they look exactly like Đ/đ and Vietnamese catalogue data typed on
# non-Vietnamese keyboards often carries them in place of the real letter.
_NO_DECOMPOSITION = {
    "đ": "d",
    "ð": "d",
    "ø": "o",
    "ł": "l",
    "ħ": "h",
    "ŧ": "t",
    "ƀ": "b",
    "ɨ": "i",
    "ı": "i",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
}

_FOLD_TABLE: dict[int, str | None] = {ord(k): v for k, v in _NO_DECOMPOSITION.items()}
for _start, _end in _COMBINING_BLOCKS:
    for _cp in range(_start, _end + 1):
        _FOLD_TABLE[_cp] = None

# The exact form keeps every mark; only the look-alike eth is mapped to the Vietnamese đ so
# that records typed with it still rank as exact matches of đ.
_EXACT_TABLE = {ord("ð"): "đ"}

_MARK_CLASS = "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in _COMBINING_BLOCKS)
# A token is a run of letters and digits (any script), with the combining marks that may
# follow them in NFD or in scripts that NFC does not compose. Everything else separates.
_TOKEN = re.compile(rf"(?:[^\W_]|[{_MARK_CLASS}])+")


def fold(text: str) -> str:
    """Return ``text`` case-folded, without diacritics, đ/Đ as d (compatibility forms too)."""
    if text.isascii():
        return text.lower()
    return _fold_cached(text) if len(text) <= _CACHED_LENGTH else _fold(text)


def _fold(text: str) -> str:
    # NFKD splits precomposed letters into base + marks whatever the input's normal form,
    # and also unfolds compatibility forms (full-width letters, ligatures such as "ﬁ").
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    folded = decomposed.translate(_FOLD_TABLE)
    # casefold() can itself produce combining marks (İ -> i + U+0307); translate once more
    # only in that rare case.
    return folded if folded.isascii() else folded.translate(_FOLD_TABLE)


def exact(text: str) -> str:
    """Return the exact form: NFC, lower-cased, diacritics kept."""
    if text.isascii():
        return text.lower()
    return _exact_cached(text) if len(text) <= _CACHED_LENGTH else _exact(text)


def _exact(text: str) -> str:
    return unicodedata.normalize("NFC", text.lower()).translate(_EXACT_TABLE)


# Catalogue text repeats (authors, publishers, places, subjects, series): folding each such
# value once per process rather than once per record saves most of the Unicode work of
# indexing. Long texts (notes, summaries) are unique to their record and are not kept.
_CACHED_LENGTH = 120
_fold_cached = lru_cache(maxsize=8192)(_fold)
_exact_cached = lru_cache(maxsize=8192)(_exact)


def tokenize(text: str) -> list[str]:
    """Split already-normalised text into word tokens (letters, digits, attached marks)."""
    tokens = _TOKEN.findall(text)
    if len(text) <= MAX_TOKEN_LENGTH:
        return tokens  # no token can be longer than the text
    return [tok[:MAX_TOKEN_LENGTH] for tok in tokens]


def fold_tokens(text: str) -> list[str]:
    """Tokens of the folded form of ``text``."""
    return tokenize(fold(text))


def exact_tokens(text: str) -> list[str]:
    """Tokens of the exact form of ``text``."""
    return tokenize(exact(text))
