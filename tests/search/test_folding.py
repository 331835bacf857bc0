"""Vietnamese folding: all 134 precomposed letters, đ/Đ, NFC and NFD input, the tokenizer."""

from __future__ import annotations

import unicodedata

import pytest

from libext.search.folding import MAX_TOKEN_LENGTH, exact, exact_tokens, fold, fold_tokens
from marc.vietnamese import VIETNAMESE_LETTERS

# The base letter each Vietnamese letter folds to, written out by hand (not computed), in the
# same order as VIETNAMESE_LETTERS_LOWER: ă â ê ô ơ ư đ, then a, ă, â, e, ê, i, o, ô, ơ, u, ư,
# y with their five tones each.
EXPECTED_LOWER = "aaeooud" + "a" * 15 + "e" * 10 + "i" * 5 + "o" * 15 + "u" * 10 + "y" * 5


def test_the_alphabet_has_134_letters_beyond_ascii() -> None:
    assert len(VIETNAMESE_LETTERS) == 134
    assert len(set(VIETNAMESE_LETTERS)) == 134
    assert all(unicodedata.is_normalized("NFC", ch) and len(ch) == 1 for ch in VIETNAMESE_LETTERS)


@pytest.mark.parametrize(
    ("letter", "base"),
    list(zip(VIETNAMESE_LETTERS, EXPECTED_LOWER + EXPECTED_LOWER, strict=True)),
)
def test_every_letter_folds_to_its_base(letter: str, base: str) -> None:
    assert fold(letter) == base
    # NFD input (base letter + combining marks, as macOS keyboards send it) folds alike.
    decomposed = unicodedata.normalize("NFD", letter)
    assert fold(decomposed) == base
    # The exact form keeps the letter, lower-cased and composed, whatever the input form.
    assert exact(decomposed) == letter.lower()
    assert exact(letter) == letter.lower()


def test_d_with_stroke_folds_although_nfd_keeps_it() -> None:
    # NFD has no decomposition for đ: a plain "remove combining marks" fold would keep it.
    assert unicodedata.normalize("NFD", "đ") == "đ"
    assert fold("đường") == fold("ĐƯỜNG") == fold("Đường") == "duong"
    assert exact("ĐƯỜNG") == "đường"


def test_eth_typed_for_d_with_stroke() -> None:
    # Ð (U+00D0) looks exactly like Đ (U+0110) and turns up in data typed on other keyboards.
    assert fold("Ðà Nẵng") == "da nang"
    assert exact("Ðà Nẵng") == exact("Đà Nẵng")


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Truyện Kiều", "truyen kieu"),
        ("NGUYỄN DU", "nguyen du"),
        ("Tiếng Việt", "tieng viet"),
        ("Ngữ văn 12", "ngu van 12"),
        ("Les Misérables", "les miserables"),
        ("Straße", "strasse"),
        ("ﬁsh", "fish"),  # compatibility ligature
        ("ＡＢＣ", "abc"),  # full-width letters from CJK input methods
        ("Øresund Łódź", "oresund lodz"),
    ],
)
def test_fold_examples(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_conflates_and_exact_distinguishes() -> None:
    words = ["dương", "đường", "đương", "dưỡng", "Dưỡng"]
    assert {fold(w) for w in words} == {"duong"}
    assert len({exact(w) for w in words}) == 4


def test_tokenizer_splits_on_punctuation_and_keeps_digits() -> None:
    assert fold_tokens("Truyện Kiều / Nguyễn Du ; chú giải: Đào Duy Anh.") == [
        "truyen", "kieu", "nguyen", "du", "chu", "giai", "dao", "duy", "anh",
    ]  # fmt: skip
    assert exact_tokens("Lịch sử Việt Nam (1945-1975)") == [
        "lịch", "sử", "việt", "nam", "1945", "1975",
    ]  # fmt: skip
    assert fold_tokens("a_b\x00c\td") == ["a", "b", "c", "d"]


def test_nfd_text_tokenizes_like_nfc() -> None:
    text = "Chuyện người con gái Nam Xương"
    nfd = unicodedata.normalize("NFD", text)
    assert exact_tokens(nfd) == exact_tokens(text)
    assert fold_tokens(nfd) == fold_tokens(text)


def test_tokens_are_bounded() -> None:
    assert fold_tokens("x" * 10_000) == ["x" * MAX_TOKEN_LENGTH]
    assert fold_tokens("") == []
    assert fold_tokens("  -- // ") == []
