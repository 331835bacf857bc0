"""ISBN and ISSN normalisation for matching and clustering.

Catalogues write the same ISBN many ways: with or without hyphens, as ISBN-10 or ISBN-13,
with a qualifier after it (``9786041234567 (bìa mềm) : 50000đ``), with a lower-case ``x``
check digit, or wrongly in 020 $z (cancelled/invalid) where it still identifies the book for
matching. Everything here reduces them to one comparable form: ISBN-13 digits.
"""

from __future__ import annotations

import re

__all__ = [
    "is_valid_isbn",
    "isbn10_to_13",
    "isbn13_to_10",
    "isbn_candidates",
    "normalize_isbn",
    "normalize_issn",
]

# The first ISBN-looking run of digits (with hyphens/spaces inside) and an optional X.
_ISBN_RUN = re.compile(
    r"(?<![0-9])((?:97[89][\s-]?)?(?:[0-9][\s-]?){8}[0-9][\s-]?[0-9Xx])(?![0-9])"
)
_SEPARATORS = re.compile(r"[\s-]")
_ISSN_RUN = re.compile(r"(?<![0-9])([0-9]{4})\s*-?\s*([0-9]{3}[0-9Xx])(?![0-9])")


def _isbn10_check(first9: str) -> str:
    total = sum((10 - i) * int(d) for i, d in enumerate(first9))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def _isbn13_check(first12: str) -> str:
    # Weights 1, 3, 1, 3…: the digits at even and odd positions summed apart.
    total = sum(map(int, first12[0::2])) + 3 * sum(map(int, first12[1::2]))
    return str((10 - total % 10) % 10)


def isbn10_to_13(isbn10: str) -> str:
    """Convert a 10-character ISBN (digits, last may be X) to ISBN-13 digits."""
    core = "978" + isbn10[:9]
    return core + _isbn13_check(core)


def isbn13_to_10(isbn13: str) -> str | None:
    """Convert a 978-prefixed ISBN-13 to ISBN-10; None for 979 ISBNs, which have no ISBN-10."""
    if not isbn13.startswith("978"):
        return None
    core = isbn13[3:12]
    return core + _isbn10_check(core)


def normalize_isbn(text: str | None, *, strict: bool = False) -> str | None:
    """Return the ISBN-13 digits found in ``text``, or None.

    Hyphens, spaces and trailing qualifiers are ignored; ISBN-10 becomes ISBN-13. With
    ``strict`` a wrong check digit gives None; without it (the default, used for matching) the
    check digit is recomputed, because a typo in the check digit still names the same book far
    more often than it names another one.
    """
    if not text:
        return None
    match = _ISBN_RUN.search(text)
    if not match:
        return None
    digits = _SEPARATORS.sub("", match.group(1)).upper()
    if len(digits) == 10:
        if not digits[:9].isdigit():
            return None
        if strict and _isbn10_check(digits[:9]) != digits[9]:
            return None
        return isbn10_to_13(digits)
    if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        if strict and _isbn13_check(digits[:12]) != digits[12]:
            return None
        return digits[:12] + _isbn13_check(digits[:12])
    return None


def is_valid_isbn(text: str) -> bool:
    """True when ``text`` holds an ISBN-10 or ISBN-13 whose check digit is right."""
    return normalize_isbn(text, strict=True) is not None


def normalize_issn(text: str | None) -> str | None:
    """Return an ISSN as ``NNNN-NNNC`` (upper-case X), or None."""
    if not text:
        return None
    match = _ISSN_RUN.search(text)
    if not match:
        return None
    return f"{match.group(1)}-{match.group(2).upper()}"


def isbn_candidates(values: list[str]) -> list[str]:
    """Normalised ISBN-13s of several raw values, in order, without duplicates."""
    seen: dict[str, None] = {}
    for value in values:
        norm = normalize_isbn(value)
        if norm:
            seen.setdefault(norm, None)
    return list(seen)
