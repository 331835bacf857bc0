"""ISBN/ISSN normalisation: the forms catalogues really write."""

from __future__ import annotations

import pytest

from marc.isbn import is_valid_isbn, isbn13_to_10, normalize_isbn, normalize_issn


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9786042083553", "9786042083553"),
        ("978-604-2-08355-3", "9786042083553"),  # hyphens
        ("978 604 2 08355 3", "9786042083553"),  # spaces
        ("9786042083553 (bìa mềm) : 85000đ", "9786042083553"),  # qualifier and price
        ("0-306-40615-2", "9780306406157"),  # ISBN-10 → 13
        ("080442957X", "9780804429573"),
        ("080442957x", "9780804429573"),  # lower-case check digit
        ("ISBN 0-8044-2957-X (pbk.)", "9780804429573"),
        ("979-10-90636-07-1", "9791090636071"),  # 979 prefix
        ("", None),
        ("không có", None),
        ("12345", None),
    ],
)
def test_normalize_isbn(raw: str, expected: str | None) -> None:
    assert normalize_isbn(raw) == expected


def test_wrong_check_digit_is_repaired_unless_strict() -> None:
    assert normalize_isbn("978-604-2-08355-0") == "9786042083553"
    assert normalize_isbn("978-604-2-08355-0", strict=True) is None
    assert is_valid_isbn("978-604-2-08355-3")
    assert not is_valid_isbn("978-604-2-08355-0")


def test_isbn13_to_10() -> None:
    assert isbn13_to_10("9780306406157") == "0306406152"
    assert isbn13_to_10("9791090636071") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0028-0836", "0028-0836"),
        ("00280836", "0028-0836"),
        ("1050-124x", "1050-124X"),
        ("x", None),
    ],
)
def test_normalize_issn(raw: str, expected: str | None) -> None:
    assert normalize_issn(raw) == expected
