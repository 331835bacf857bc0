"""Vietnamese folding through the real index, on SQLite and on PostgreSQL: every one of the
134 precomposed letters and đ/Đ, typed NFC, NFD, upper case or without marks."""

from __future__ import annotations

import unicodedata

import pymarc
import pytest
from flask import Flask

from libext.models import Library
from libext.search.folding import fold
from libext.search.service import run_search
from marc.vietnamese import VIETNAMESE_LETTERS_LOWER

# One made-up word per letter: "x" + letter + "n" cannot collide with a real word's fold.
WORDS = {letter: f"kh{letter}nq" for letter in VIETNAMESE_LETTERS_LOWER}


@pytest.fixture
def letters_app(app: Flask) -> Flask:
    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        library = Library(code="HNM", name="Thư viện tỉnh")
        session.add(library)
        session.commit()
        store = state.store()
        for n, word in enumerate(WORDS.values()):
            record = pymarc.Record(leader="00000nam a2200000 a 4500")
            record.add_field(pymarc.Field(tag="001", data=f"L{n:03d}"))
            # Distinct ISBN-less titles and years keep every record its own edition.
            record.add_field(
                pymarc.Field(
                    "245",
                    pymarc.Indicators("0", "0"),
                    [pymarc.Subfield("a", f"Mẫu {n} {word.upper() if n % 2 else word}")],
                )
            )
            record.add_field(
                pymarc.Field(tag="008", data=f"200101s{1900 + n:4d}    vm            000 0 vie d")
            )
            store.save(library, record)
        store.flush()
        session.commit()
    return app


def test_every_letter_is_found_every_way(letters_app: Flask) -> None:
    assert len(WORDS) == 67  # 67 lower-case letters; upper case is covered by the titles
    with letters_app.app_context():
        session = letters_app.extensions["libext"].db.session
        for letter, word in WORDS.items():
            folded = fold(word)
            expected = {f"Mẫu {n}" for n, w in enumerate(WORDS.values()) if fold(w) == folded}
            for typed in (
                word,
                word.upper(),
                unicodedata.normalize("NFD", word),
                unicodedata.normalize("NFD", word.upper()),
                folded,
            ):
                found = run_search(session, typed, size=100)
                titles = {" ".join(r.title.split()[:2]) for r in found.results}
                assert titles == expected, (letter, typed)
            # With its own marks typed, the record carrying exactly this letter ranks first.
            exact = run_search(session, word, size=100).results[0]
            assert fold(exact.title.split()[-1]) == folded
            assert exact.title.split()[-1].lower() == word, (letter, exact.title)


def test_d_with_stroke_both_cases(letters_app: Flask) -> None:
    with letters_app.app_context():
        session = letters_app.extensions["libext"].db.session
        for typed in ("khđnq", "KHĐNQ", "khdnq", "KHDNQ"):
            titles = [r.title for r in run_search(session, typed).results]
            assert any(t.lower().endswith("khđnq") for t in titles), typed
        first = run_search(session, "khđnq").results[0]
        assert first.title.lower().endswith("khđnq")
