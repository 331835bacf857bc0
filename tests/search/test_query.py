"""The query language: words, fields, phrases, prefixes, and any bad input without an error."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libext.search.query import MAX_QUERY_LENGTH, MAX_TERMS, parse_query


def codes(text: str) -> list[str]:
    return [n.code for n in parse_query(text).notices]


def test_words_are_anded_with_exact_and_folded_forms() -> None:
    parsed = parse_query("Truyện Kiều nguyen du")
    assert [t.tokens for t in parsed.terms] == [("truyện",), ("kiều",), ("nguyen",), ("du",)]
    assert [t.folded for t in parsed.terms] == [("truyen",), ("kieu",), ("nguyen",), ("du",)]
    assert [t.has_diacritics for t in parsed.terms] == [True, True, False, False]
    assert all(t.field is None for t in parsed.terms)
    assert parsed.notices == []


def test_fielded_terms_and_aliases() -> None:
    parsed = parse_query('title:kiều author:"Nguyễn Du" subject:thơ tacgia:duy nam:1990')
    assert [(t.field, t.tokens) for t in parsed.terms[:4]] == [
        ("title", ("kiều",)),
        ("author", ("nguyễn", "du")),
        ("subject", ("thơ",)),
        ("author", ("duy",)),
    ]
    year = parsed.terms[4]
    assert (year.field, year.year_from, year.year_to) == ("year", 1990, 1990)


def test_field_with_space_after_colon() -> None:
    parsed = parse_query("title: kieu")
    assert [(t.field, t.tokens) for t in parsed.terms] == [("title", ("kieu",))]


def test_year_range_and_bad_year() -> None:
    term = parse_query("year:1999-1990").terms[0]
    assert (term.year_from, term.year_to) == (1990, 1999)
    parsed = parse_query("year:abc lịch sử")
    assert codes("year:abc lịch") == ["bad_year"]
    assert [t.tokens for t in parsed.terms] == [("lịch",), ("sử",)]


@pytest.mark.parametrize(
    "text",
    ["isbn:978-604-1-12345-6", "isbn:9786041123456", "978-604-1-12345-6", "604-1-12345-X"],
)
def test_isbn_terms_are_normalised(text: str) -> None:
    term = parse_query(text).terms[0]
    assert term.field == "isbn"
    assert term.isbn is not None and len(term.isbn) == 13 and term.isbn.startswith("97")


def test_isbn10_and_13_give_the_same_term() -> None:
    assert parse_query("isbn:0-306-40615-2").terms[0].isbn == "9780306406157"
    assert parse_query("isbn:978-0-306-40615-7").terms[0].isbn == "9780306406157"


def test_bad_isbn_is_a_notice() -> None:
    parsed = parse_query("isbn:12345")
    assert parsed.is_empty and codes("isbn:12345") == ["bad_isbn", "nothing_to_search"]


def test_phrase_and_prefix() -> None:
    phrase, prefix = parse_query('"truyện kiều" kieu*').terms
    assert phrase.is_phrase and phrase.tokens == ("truyện", "kiều") and not phrase.prefix
    assert prefix.prefix and prefix.folded == ("kieu",)


def test_typographic_quotes_make_a_phrase() -> None:
    (term,) = parse_query("“truyện kiều”").terms
    assert term.is_phrase


def test_hyphenated_word_is_a_phrase() -> None:
    (term,) = parse_query("C-3PO").terms
    assert term.folded == ("c", "3po") and term.is_phrase


@pytest.mark.parametrize(
    ("text", "notice", "tokens"),
    [
        ('"truyện kiều', "unbalanced_quote", [("truyện", "kiều")]),
        ('kieu"', "unbalanced_quote", [("kieu",)]),
        ("*", "lone_wildcard", []),
        ("* kieu", "lone_wildcard", [("kieu",)]),
        ("tolstoy OR tolstoi", "operator", [("tolstoy",), ("tolstoi",)]),
        ("NOT kieu", "operator", [("kieu",)]),
        ("foo:bar", "unknown_field", [("foo", "bar")]),
        ("kieu\x00\x07 du", "control_characters", [("kieu",), ("du",)]),
        ("", None, []),
        ("   ", None, []),
        ("((( ))) ^^^ +++ ---", "nothing_to_search", []),
    ],
)
def test_bad_input_is_text_or_a_notice(text: str, notice: str | None, tokens: list) -> None:
    parsed = parse_query(text)
    assert [t.tokens for t in parsed.terms] == tokens
    if notice:
        assert notice in codes(text)
    else:
        assert parsed.notices == []


def test_and_is_the_default_and_says_nothing() -> None:
    assert codes("kieu AND du") == []
    assert len(parse_query("kieu AND du").terms) == 2


def test_fts_syntax_is_plain_text() -> None:
    # FTS5 and tsquery syntax characters separate words; nothing reaches an engine raw.
    parsed = parse_query('title:(kieu OR "du) NEAR/3 ^x {a b}:c col:*')
    for term in parsed.terms:
        for token in term.tokens + term.folded:
            assert token.isalnum()


def test_very_long_input_is_cut_with_notices() -> None:
    parsed = parse_query("kiều " * 10_000)
    assert len(parsed.text) <= MAX_QUERY_LENGTH
    assert len(parsed.terms) == MAX_TERMS
    assert {"too_long", "too_many_terms"} <= set(codes("kiều " * 10_000))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(), max_size=300))
def test_any_text_parses_without_error(text: str) -> None:
    parsed = parse_query(text)
    assert len(parsed.terms) <= MAX_TERMS
    for term in parsed.terms:
        assert term.tokens or term.isbn or term.year_from
        assert all(tok and '"' not in tok for tok in term.tokens + term.folded)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + 'đĐăâơư“”*:"', max_size=120))
def test_query_punctuation_soup(text: str) -> None:
    parse_query(text)
