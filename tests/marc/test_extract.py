"""Field extraction on real records (shared data) and on Vietnamese cataloguing quirks."""

from __future__ import annotations

import pymarc
import pytest

from marc.extract import (
    ByTag,
    HoldingData,
    complete,
    extract,
    holdings_from_record,
    trim_punctuation,
)
from tests.paths import MARC_DIR


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Truyện Kiều /", "Truyện Kiều"),
        ("Số đỏ :", "Số đỏ"),
        ("Hà Nội :", "Hà Nội"),
        ("Rowling, J. K.", "Rowling, J. K."),  # an initial's period stays
        ("Tô Hoài.", "Tô Hoài"),
        ("Nxb. Kim Đồng,", "Nxb. Kim Đồng"),
        ("  Lịch sử Việt Nam ;  ", "Lịch sử Việt Nam"),
        ("215 tr. ;", "215 tr."),  # an abbreviation's period stays
        ("Nhà xuất bản Trẻ. . .", "Nhà xuất bản Trẻ"),  # repeated until nothing changes
        ("Thơ\u00a0/\u3000", "Thơ"),  # spaces outside ASCII count as spaces
        ("Văn học.\u2003:", "Văn học"),
        ("/ : ;", ""),
    ],
)
def test_trim_punctuation(raw: str, clean: str) -> None:
    assert trim_punctuation(raw) == clean


def _first(path: str) -> pymarc.Record:
    with open(MARC_DIR / path, "rb") as fh:
        return next(iter(pymarc.MARCReader(fh, to_unicode=True, force_utf8=True)))


def test_extract_a_real_lc_record() -> None:
    data = extract(_first("marc4j__summerland.mrc"))
    assert data.title.startswith("Summerland")
    assert data.authors[0].startswith("Chabon, Michael")
    assert data.year == 2002
    assert data.isbns == ["9780786808779", "9780786816156"]  # hardcover and paperback
    assert data.language == "eng"
    assert data.material_type == "am"
    assert any("Fantasy" in s or "Baseball" in s for s in data.subjects)


def test_year_falls_back_to_imprint_when_008_is_unknown() -> None:
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="008", data="000000s19uu    vm            000 0 vie d"))
    record.add_field(
        pymarc.Field(
            tag="264",
            indicators=[" ", "1"],
            subfields=[
                pymarc.Subfield("a", "Hà Nội :"),
                pymarc.Subfield("b", "Kim Đồng,"),
                pymarc.Subfield("c", "[1995?]"),
            ],
        )
    )
    data = extract(record)
    assert data.year == 1995
    assert (data.place, data.publisher) == ("Hà Nội", "Kim Đồng")
    assert data.language == "vie"


def test_missing_fields_give_empty_values() -> None:
    data = extract(pymarc.Record())
    assert data.title == "" and data.authors == [] and data.year is None and data.isbns == []


def _holding_of(tag: str, *subfields: tuple[str, str]) -> HoldingData:
    record = pymarc.Record(force_utf8=True)
    record.add_field(
        pymarc.Field(tag, pymarc.Indicators(" ", " "), [pymarc.Subfield(*s) for s in subfields])
    )
    [holding] = holdings_from_record(record)
    return holding


def test_holdings_from_852() -> None:
    holding = _holding_of(
        "852",
        ("a", "VN-PLY"),
        ("b", "Phòng đọc"),
        ("c", "Kệ 3"),
        ("h", "895.922"),
        ("i", "T-H"),
        ("p", "PLY0007"),
    )
    assert holding.call_number == "895.922 T-H"
    assert holding.location == "Phòng đọc / Kệ 3"
    assert holding.barcode == "PLY0007"
    assert holding.institution == "VN-PLY"


def test_holdings_read_each_codes_first_value() -> None:
    holding = _holding_of(
        "952",
        ("p", " BC1 "),
        ("p", "BC2"),
        ("7", ""),  # empty: still the first $7, so not "not for loan"
        ("7", "1"),
        ("1", "2"),
        ("o", "895.9"),
    )
    assert (holding.barcode, holding.call_number, holding.status) == ("BC1", "895.9", "lost")


def test_row_only_extraction_equals_the_full_one_on_the_rows_fields() -> None:
    """extract(full=False), what bulk loads use, gives the same identifiers and row columns
    as the full extraction, over every readable record of the shared MARC files."""
    from dataclasses import fields

    from tests.marc.helpers import shared_records

    row_only = {"edition", "extent", "subjects", "series", "notes"}
    records = shared_records()
    assert len(records) > 100
    for record in records:
        whole, row = extract(record), extract(record, full=False)
        for f in fields(whole):
            if f.name not in row_only:
                assert getattr(row, f.name) == getattr(whole, f.name), f.name


def test_completing_a_partial_extraction_gives_the_full_one() -> None:
    """What a bulk load's row needs, completed for the search index, is the whole extraction:
    checked on every readable record of the shared MARC files."""
    from tests.marc.helpers import shared_records

    records = shared_records()
    assert len(records) > 100
    for record in records:
        assert complete(record, extract(ByTag(record), full=False)) == extract(record)
