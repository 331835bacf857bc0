"""Clustering keys on real-looking duplicates, and different editions kept apart."""

from __future__ import annotations

import pymarc
import pytest
from pymarc import Field, Indicators, Subfield

from libext.search.clusterkey import edition_facts, edition_number, same_edition, title_key


def book(
    title: str,
    *,
    subtitle: str = "",
    nonfiling: int = 0,
    author: str | None = "Nguyễn Du",
    year: str = "2015",
    isbn: str | None = None,
    isbn_z: str | None = None,
    edition: str | None = None,
    extent: str = "250 tr.",
    size: str = "21 cm",
    publisher: str = "Văn học",
    lang: str = "vie",
    leader_type: str = "am",
    part: str | None = None,
) -> pymarc.Record:
    """A MARC record as a Vietnamese library might catalogue it."""
    record = pymarc.Record()
    record.leader = pymarc.Leader(f"00000n{leader_type} a2200000 a 4500")
    f008 = f"150101s{year:4}    vm            000 0 {lang} d"
    record.add_field(pymarc.Field(tag="008", data=f008))
    if isbn or isbn_z:
        subs = []
        if isbn:
            subs.append(Subfield("a", isbn))
        if isbn_z:
            subs.append(Subfield("z", isbn_z))
        record.add_field(Field("020", Indicators(" ", " "), subs))
    if author:
        record.add_field(Field("100", Indicators("0", " "), [Subfield("a", author)]))
    subs = [Subfield("a", title + (" :" if subtitle else " /"))]
    if subtitle:
        subs.append(Subfield("b", subtitle))
    if part:
        subs.append(Subfield("n", part))
    record.add_field(Field("245", Indicators("1", str(nonfiling)), subs))
    if edition:
        record.add_field(Field("250", Indicators(" ", " "), [Subfield("a", edition)]))
    record.add_field(
        Field(
            "260",
            Indicators(" ", " "),
            [Subfield("a", "H. :"), Subfield("b", publisher + ","), Subfield("c", year)],
        )
    )
    record.add_field(
        Field("300", Indicators(" ", " "), [Subfield("a", extent + " ;"), Subfield("c", size)])
    )
    return record


def same(a: pymarc.Record, b: pymarc.Record) -> bool:
    fa, fb = edition_facts(a), edition_facts(b)
    assert same_edition(fa, fb) == same_edition(fb, fa), "the relation must be symmetric"
    return same_edition(fa, fb)


# --- duplicates that must cluster -----------------------------------------------------------


def test_isbn_with_and_without_hyphens() -> None:
    a = book("Truyện Kiều", isbn="978-604-69-1234-7 (bìa mềm) : 85000đ")
    b = book("Truyện Kiều", isbn="9786046912347")
    assert edition_facts(a).isbns == edition_facts(b).isbns
    assert edition_facts(a).key == edition_facts(b).key == "isbn:9786046912347"
    assert same(a, b)


def test_isbn10_and_isbn13() -> None:
    a = book("The Sorrow of War", author="Bảo Ninh", lang="eng", isbn="0-09-947161-3")
    b = book("The Sorrow of War", author="Bảo Ninh", lang="eng", isbn="9780099471615")
    assert edition_facts(a).isbns == ("9780099471615",)
    assert same(a, b)


def test_isbn_in_020z_still_matches() -> None:
    a = book("Nỗi buồn chiến tranh", author="Bảo Ninh", isbn_z="978-604-1-00001-8")
    b = book("Nỗi buồn chiến tranh", author="Bảo Ninh", isbn="9786041000018")
    assert same(a, b)


def test_title_with_and_without_diacritics() -> None:
    a = book("Truyện Kiều")
    b = book("Truyen Kieu", author="Nguyen Du")
    assert edition_facts(a).work_key == edition_facts(b).work_key == "truyen kieu|du nguyen|2015|am"
    assert same(a, b)


def test_leading_article_counted_or_not() -> None:
    a = book("The lost city", nonfiling=4, author="Smith, John", lang="eng")
    b = book("The lost city", nonfiling=0, author="Smith, John", lang="eng")
    c = book("Lost city", author="John Smith", lang="eng")
    assert edition_facts(a).title == edition_facts(b).title == edition_facts(c).title == "lost city"
    assert same(a, b) and same(a, c)


def test_nfd_cataloguing_clusters_with_nfc() -> None:
    import unicodedata

    a = book("Đất rừng phương Nam", author="Đoàn Giỏi")
    b = book(unicodedata.normalize("NFD", "Đất rừng phương Nam"), author="Đoàn Giỏi")
    assert same(a, b)


def test_publisher_written_differently() -> None:
    a = book("Dế Mèn phiêu lưu ký", author="Tô Hoài", publisher="NXB Kim Đồng")
    b = book("Dế mèn phiêu lưu ký", author="Tô Hoài", publisher="Kim Đồng")
    assert same(a, b)


def test_a_printing_is_the_same_edition() -> None:
    a = book("Truyện Kiều", edition="In lần thứ 3")
    b = book("Truyện Kiều")
    assert edition_number("In lần thứ 3") is None
    assert same(a, b)


def test_missing_values_do_not_block() -> None:
    a = book("Truyện Kiều", extent="", size="")
    b = book("Truyện Kiều", edition=None)
    assert same(a, b)


# --- records that must stay apart -----------------------------------------------------------


def test_nguyen_is_not_an_author_key() -> None:
    # Same short title, same year, both by a Nguyễn: different books.
    a = book("Thơ", author="Nguyễn Du")
    b = book("Thơ", author="Nguyễn Duy")
    c = book("Thơ", author="Nguyễn Bính")
    assert len({edition_facts(r).work_key for r in (a, b, c)}) == 3
    assert not same(a, b) and not same(a, c)


def test_different_years_are_different_editions() -> None:
    assert not same(book("Truyện Kiều", year="2015"), book("Truyện Kiều", year="2019"))


def test_edition_statements_differ() -> None:
    a = book("Giáo trình kinh tế học", author="Lê Văn A", edition="Tái bản lần thứ 2")
    b = book("Giáo trình kinh tế học", author="Lê Văn A", edition="Tái bản lần thứ 3")
    assert not same(a, b)
    c = book("Economics", author="Samuelson, Paul", lang="eng", edition="18th ed.")
    d = book("Economics", author="Samuelson, Paul", lang="eng", edition="Nineteenth edition")
    assert edition_number("Nineteenth edition") is None  # only 1st-10th are spelt out
    e = book("Economics", author="Samuelson, Paul", lang="eng", edition="19th ed.")
    assert not same(c, e)
    assert same(c, d)  # unknown edition number does not block


def test_extent_and_format_differ() -> None:
    assert not same(book("Truyện Kiều", extent="250 tr."), book("Truyện Kiều", extent="480 tr."))
    assert same(book("Truyện Kiều", extent="250 tr."), book("Truyện Kiều", extent="252 tr."))
    assert not same(book("Truyện Kiều", size="13 cm"), book("Truyện Kiều", size="21 cm"))
    # A sound recording of the same title is not the book.
    assert not same(book("Truyện Kiều"), book("Truyện Kiều", leader_type="im"))


def test_volumes_of_a_set_differ() -> None:
    a = book("Lịch sử Việt Nam", author="Trần Trọng Kim", part="Tập 1")
    b = book("Lịch sử Việt Nam", author="Trần Trọng Kim", part="Tập 2")
    assert not same(a, b)


def test_different_isbns_are_different_editions() -> None:
    a = book("Truyện Kiều", isbn="9786046912347")
    b = book("Truyện Kiều", isbn="9786041000018")
    assert not same(a, b)


def test_reused_isbn_on_another_book() -> None:
    a = book("Truyện Kiều", isbn="9786046912347")
    b = book("Số đỏ", author="Vũ Trọng Phụng", isbn="9786046912347")
    assert not same(a, b)


def test_subtitles_disagree() -> None:
    a = book("Tuyển tập", subtitle="truyện ngắn", author="Nam Cao")
    b = book("Tuyển tập", subtitle="tiểu thuyết", author="Nam Cao")
    assert not same(a, b)
    assert same(a, book("Tuyển tập", author="Nam Cao"))


def test_no_title_never_clusters_by_work_key() -> None:
    record = pymarc.Record()
    record.leader = pymarc.Leader("00000nam a2200000 a 4500")
    assert not same(record, record)
    assert edition_facts(record).title == ""


@pytest.mark.parametrize(
    ("title", "nonfiling", "language", "key"),
    [
        ("The Hobbit", 4, "eng", "hobbit"),
        ("The Hobbit", 0, "eng", "hobbit"),
        ("Les Misérables", 0, "fre", "miserables"),
        ("A Phủ", 0, "vie", "a phu"),  # Vietnamese has no articles to drop
        ("An", 0, "eng", "an"),  # a one-word title keeps its word
    ],
)
def test_title_key(title: str, nonfiling: int, language: str, key: str) -> None:
    assert title_key(title, nonfiling, language) == key


def test_facts_from_the_records_extraction_are_the_same() -> None:
    """Given the record's whole extraction (as the bulk load's readers have it), the facts
    are the ones worked out from the record alone: checked on every readable record of the
    shared MARC files."""
    from marc.extract import extract
    from tests.marc.helpers import shared_records

    records = shared_records()
    assert len(records) > 100
    for record in records:
        assert edition_facts(record, extract(record)) == edition_facts(record)
