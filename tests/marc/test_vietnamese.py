"""TCVN3 (ABC) and VNI tables, letter by letter, and the suggestion heuristic."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pytest

from marc.reader import MarcReader
from marc.vietnamese import (
    VIETNAMESE_LETTERS,
    VIETNAMESE_LETTERS_LOWER,
    VIETNAMESE_LETTERS_UPPER,
    decode_tcvn3,
    decode_vni,
    encode_tcvn3,
    encode_vni,
    suggest_encoding,
)
from tests.marc.helpers import data_field, make_iso

# Expected TCVN3 bytes of the lower-case letters, from the TCVN 5712:1993 table (VN3 area).
TCVN3_LOWER = {
    "ă": 0xA8, "â": 0xA9, "ê": 0xAA, "ô": 0xAB, "ơ": 0xAC, "ư": 0xAD, "đ": 0xAE,
    "à": 0xB5, "ả": 0xB6, "ã": 0xB7, "á": 0xB8, "ạ": 0xB9,
    "ằ": 0xBB, "ẳ": 0xBC, "ẵ": 0xBD, "ắ": 0xBE, "ặ": 0xC6,
    "ầ": 0xC7, "ẩ": 0xC8, "ẫ": 0xC9, "ấ": 0xCA, "ậ": 0xCB,
    "è": 0xCC, "ẻ": 0xCE, "ẽ": 0xCF, "é": 0xD0, "ẹ": 0xD1,
    "ề": 0xD2, "ể": 0xD3, "ễ": 0xD4, "ế": 0xD5, "ệ": 0xD6,
    "ì": 0xD7, "ỉ": 0xD8, "ĩ": 0xDC, "í": 0xDD, "ị": 0xDE,
    "ò": 0xDF, "ỏ": 0xE1, "õ": 0xE2, "ó": 0xE3, "ọ": 0xE4,
    "ồ": 0xE5, "ổ": 0xE6, "ỗ": 0xE7, "ố": 0xE8, "ộ": 0xE9,
    "ờ": 0xEA, "ở": 0xEB, "ỡ": 0xEC, "ớ": 0xED, "ợ": 0xEE,
    "ù": 0xEF, "ủ": 0xF1, "ũ": 0xF2, "ú": 0xF3, "ụ": 0xF4,
    "ừ": 0xF5, "ử": 0xF6, "ữ": 0xF7, "ứ": 0xF8, "ự": 0xF9,
    "ỳ": 0xFA, "ỷ": 0xFB, "ỹ": 0xFC, "ý": 0xFD, "ỵ": 0xFE,
}  # fmt: skip

# VNI: base letter + mark byte (lower-case marks; capitals use the byte 0x20 lower).
VNI_MARK = {"sắc": 0xF9, "huyền": 0xF8, "hỏi": 0xFB, "ngã": 0xF5, "nặng": 0xEF}


def test_there_are_134_letters() -> None:
    assert len(VIETNAMESE_LETTERS) == 134 == len(set(VIETNAMESE_LETTERS))
    assert VIETNAMESE_LETTERS_LOWER.upper() == VIETNAMESE_LETTERS_UPPER
    assert all(unicodedata.is_normalized("NFC", ch) for ch in VIETNAMESE_LETTERS)


@pytest.mark.parametrize("letter", list(VIETNAMESE_LETTERS_LOWER))
def test_tcvn3_lower_case_letter(letter: str) -> None:
    assert encode_tcvn3(letter) == bytes([TCVN3_LOWER[letter]])
    assert decode_tcvn3(bytes([TCVN3_LOWER[letter]])) == letter


@pytest.mark.parametrize("letter", list(VIETNAMESE_LETTERS))
def test_tcvn3_round_trip(letter: str) -> None:
    encoded = encode_tcvn3(letter)
    assert len(encoded) == 1
    assert decode_tcvn3(encoded) == letter


@pytest.mark.skipif(
    subprocess.run(["iconv", "-l"], capture_output=True, check=False).stdout.find(b"TCVN5712-1") < 0
    if shutil.which("iconv")
    else True,
    reason="iconv with TCVN5712-1 not available",
)
@pytest.mark.parametrize("letter", list(VIETNAMESE_LETTERS))
def test_tcvn3_agrees_with_iconv(letter: str) -> None:
    # glibc's TCVN5712-1 converter is an independent implementation of the same standard
    out = subprocess.run(
        ["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"],
        input=encode_tcvn3(letter),
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    assert unicodedata.normalize("NFC", out) == letter


@pytest.mark.parametrize("letter", list(VIETNAMESE_LETTERS))
def test_vni_round_trip(letter: str) -> None:
    encoded = encode_vni(letter)
    assert 1 <= len(encoded) <= 2
    assert decode_vni(encoded) == letter


@pytest.mark.parametrize(
    ("vni", "text"),
    [
        (b"Ha\xf8 No\xe4i", "Hà Nội"),
        (b"Vie\xe4t Nam", "Việt Nam"),
        (b"\xd1a\xf8 Na\xfcng", "Đà Nẵng"),
        (b"Th\xf6\xf8a Thie\xe2n Hue\xe1", "Thừa Thiên Huế"),
        (b"Qua\xfbng Nga\xf5i", "Quảng Ngãi"),
        (b"Ba\xe9c Ka\xefn", "Bắc Kạn"),
        (b"B\xecnh \xd1\xf2nh", "Bình Định"),
        (b"V\xf3nh Long", "Vĩnh Long"),
        (b"HA\xd8 NO\xc4I", "HÀ NỘI"),
        (b"Nguye\xe3n Tra\xe0n", "Nguyễn Trần"),
    ],
)
def test_vni_known_spellings(vni: bytes, text: str) -> None:
    assert decode_vni(vni) == text
    assert encode_vni(text) == vni


@pytest.mark.parametrize("letter", ["a", "e", "o", "u", "y"])
@pytest.mark.parametrize("tone", list(VNI_MARK))
def test_vni_tone_marks(letter: str, tone: str) -> None:
    combining = {"sắc": "\u0301", "huyền": "\u0300", "hỏi": "\u0309", "ngã": "\u0303"}
    combining["nặng"] = "\u0323"
    expected = unicodedata.normalize("NFC", letter + combining[tone])
    assert decode_vni(letter.encode() + bytes([VNI_MARK[tone]])) == expected
    capital = letter.upper().encode() + bytes([VNI_MARK[tone] - 0x20])
    assert decode_vni(capital) == expected.upper()


TITLE = "Lịch sử Việt Nam thời kỳ đổi mới và hội nhập quốc tế"


def test_suggestion() -> None:
    assert suggest_encoding(encode_tcvn3(TITLE)) == "tcvn3"
    assert suggest_encoding(encode_vni(TITLE)) == "vni"
    assert suggest_encoding("Café, résumé et naïveté à la française".encode("latin-1")) is None
    assert suggest_encoding(b"plain ASCII text") is None


@pytest.mark.parametrize(("name", "encode"), [("tcvn3", encode_tcvn3), ("vni", encode_vni)])
def test_reader_suggests_then_converts(tmp_path, name: str, encode) -> None:
    data = make_iso(
        [
            ("001", b"VN0001"),
            ("245", data_field("10", ("a", encode(TITLE)))),
            ("260", data_field("  ", ("a", encode("Hà Nội :")), ("b", encode("Nxb Giáo dục")))),
        ],
        leader09=" ",
    )
    path = tmp_path / "legacy.mrc"
    path.write_bytes(data)
    (first,) = list(MarcReader(path))
    assert not first.ok
    assert first.suggested_encoding == name
    assert f"--encoding {name}" in first.reason
    (converted,) = list(MarcReader(path, encoding=name))
    assert converted.ok, converted.reason
    assert converted.record["245"]["a"] == TITLE
    assert converted.record["260"]["b"] == "Nxb Giáo dục"
    assert converted.marc[9:10] == b"a"
