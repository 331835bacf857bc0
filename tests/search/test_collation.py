"""Vietnamese alphabetical order, checked by hand-written cases and against ICU when present."""

from __future__ import annotations

import random
import unicodedata

import pytest

from libext.search import collation
from libext.search.collation import sort_key
from marc.vietnamese import VIETNAMESE_LETTERS

ALPHABET = [
    "a",
    "ă",
    "â",
    "b",
    "c",
    "d",
    "đ",
    "e",
    "ê",
    "g",
    "h",
    "i",
    "k",
    "l",
    "m",
    "n",
    "o",
    "ô",
    "ơ",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "ư",
    "v",
    "x",
    "y",
]

# Golden order derived from CLDR's Vietnamese tailoring (and checked against ICU 72 when it was
# written): letters first, then tones (none, huyền, hỏi, ngã, sắc, nặng), then case.
GOLDEN = [
    "1945",
    "a",
    "A",
    "à",
    "ả",
    "ã",
    "á",
    "ạ",
    "an",
    "ăn",
    "ân",
    "ba",
    "bà",
    "bá",
    "Ba Vì",
    "ban",
    "bàn",
    "bạn",
    "bă",
    "dân",
    "dương",
    "Dương",
    "dưỡng",
    "đa",
    "Đà Lạt",
    "Đà Nẵng",
    "đường",
    "em",
    "êm",
    "gà",
    "ong",
    "ông",
    "ơn",
    "u",
    "ư",
    "Ưu",
    "vàng",
    "xanh",
    "y",
    "ý",
]


def test_alphabet_order() -> None:
    assert sorted(ALPHABET, key=sort_key) == ALPHABET
    upper = [letter.upper() for letter in ALPHABET]
    assert sorted(upper, key=sort_key) == upper


def test_golden_order() -> None:
    shuffled = GOLDEN[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == GOLDEN


def test_code_point_order_is_wrong_and_ours_is_not() -> None:
    titles = ["Zen", "Đất rừng phương Nam", "Ước mơ", "Vợ nhặt"]
    assert sorted(titles)[-2:] == ["Đất rừng phương Nam", "Ước mơ"]  # what str order does
    assert sorted(titles, key=sort_key) == ["Đất rừng phương Nam", "Ước mơ", "Vợ nhặt", "Zen"]


def test_nfd_sorts_like_nfc() -> None:
    for word in GOLDEN:
        assert sort_key(unicodedata.normalize("NFD", word)) == sort_key(word)


def test_keys_are_bytes_and_prefix_sorts_first() -> None:
    assert isinstance(sort_key("a"), bytes)
    assert sort_key("") < sort_key("a") < sort_key("a b") < sort_key("ab")


def _random_words(count: int) -> list[str]:
    rng = random.Random(2024)
    alphabet = (
        list(VIETNAMESE_LETTERS)
        + list("abcdeghiklmnopqrstuvxyABCDEGHIKLMNOPQRSTUVXYfjwz0123456789")
        + list(" -.,:;'()")
    )
    words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(4000)]
    return words + [unicodedata.normalize("NFD", w) for w in words[:1000]]


def test_same_order_as_icu() -> None:
    icu = pytest.importorskip("icu", reason="PyICU not installed: ICU comparison skipped")
    collator = icu.Collator.createInstance(icu.Locale("vi"))
    words = _random_words(4000) + GOLDEN
    ours = sorted(words, key=sort_key)
    theirs = sorted(words, key=collator.getSortKey)
    # Compare by ICU's key so that strings ICU holds equal may come in either order.
    assert [collator.getSortKey(w) for w in ours] == [collator.getSortKey(w) for w in theirs]


def test_per_character_weights_agree_with_clusters() -> None:
    """Keys are built from per-character weights unless a mark NFC cannot compose follows a
    letter; both ways give the same key, with the character table full or not."""
    extra = ["q\u0323\u0302", "\u0301a", "x\u200by", "a\x01b", "\u0f73", "ß İ ﬁ Ｑ", "a\u0338"]
    words = _random_words(2000) + GOLDEN + extra
    for word in words:
        assert sort_key(word) == collation._clustered_key(unicodedata.normalize("NFC", word))
    full = dict.fromkeys(chr(c) for c in range(0x4E00, 0x4E00 + collation._MAX_CHARACTERS))
    for char in full:
        sort_key(char)
    assert len(collation._CHARACTERS) == collation._MAX_CHARACTERS
    for word in words[:200] + extra + ["\u4e00\ua000"]:
        assert sort_key(word) == collation._clustered_key(unicodedata.normalize("NFC", word))
