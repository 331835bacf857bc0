"""The search box's query language, parsed into terms every engine compiles the same way.

What a reader or cataloguer may type:

* words: all must match (AND), in any field; ``truyen kieu nguyen du``;
* fielded terms: ``title:`` ``author:`` ``subject:`` ``isbn:`` ``year:`` (Vietnamese aliases
  ``nhande:`` ``tacgia:`` ``chude:`` ``nam:`` too), e.g. ``author:"nguyễn du"``,
  ``year:1990-1999``, ``isbn:978-604-1-12345-6``;
* phrases in double quotes (straight or typographic): ``"truyện kiều"``;
* prefixes with ``*``: ``kieu*``;
* an ISBN typed on its own, hyphens or not, is searched as ``isbn:``.

Nothing typed is an error. The parser never raises: search-engine operators (``AND OR NOT
NEAR ( ) ^ + -``), a lone ``*``, control characters, an unbalanced quote or a very long string
are read as text (or dropped), and what was changed is reported as :class:`Notice` codes that
the web layer translates. Each term keeps both the exact and the folded tokens (see
:mod:`libext.search.folding`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from libext.search.folding import exact, fold, tokenize
from marc.isbn import normalize_isbn

__all__ = [
    "FIELDS",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "Notice",
    "ParsedQuery",
    "Term",
    "parse_query",
]

#: Characters of a query kept; the rest is dropped with a notice.
MAX_QUERY_LENGTH = 500
#: Terms kept; the rest are dropped with a notice (each term is one more index lookup).
MAX_TERMS = 16

#: Searchable fields; ``None`` on a :class:`Term` means any field.
FIELDS = ("title", "author", "subject", "isbn", "year")

_FIELD_ALIASES = {
    "title": "title",
    "ti": "title",
    "nhande": "title",
    "author": "author",
    "au": "author",
    "tacgia": "author",
    "subject": "subject",
    "su": "subject",
    "chude": "subject",
    "isbn": "isbn",
    "year": "year",
    "nam": "year",
}

# Typographic quotes that phones and word processors substitute for the straight one.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "＂": '"'})
# Operators of FTS5, PostgreSQL tsquery and common web search syntax, typed in capitals.
_OPERATORS = {"AND", "OR", "NOT", "NEAR", "VÀ", "HOẶC"}
_YEAR = re.compile(r"^(\d{4})(?:\s*[-–]\s*(\d{4}))?$")
_ISBN_LIKE = re.compile(r"^(?:97[89][\s-]?)?(?:\d[\s-]?){9}[\dXx]$")
# One chunk of the query: optional field prefix, then a quoted phrase (maybe unclosed) or a
# bare word (anything up to whitespace or a quote).
_CHUNK = re.compile(
    r'(?:(?P<field>[^\W\d_]+):\s*)?(?:"(?P<phrase>[^"]*)(?P<close>"?)|(?P<word>[^\s"]+))'
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the parser changed in the query, for the reader; ``code`` is stable."""

    code: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Term:
    """One thing that must match.

    ``tokens`` / ``folded`` are the exact and folded token lists; several tokens make a phrase
    (they must be adjacent). ``prefix`` means the last token is a prefix. ``isbn`` and
    ``year_from``/``year_to`` are set for those fields instead of tokens.
    """

    field: str | None
    tokens: tuple[str, ...] = ()
    folded: tuple[str, ...] = ()
    prefix: bool = False
    isbn: str | None = None
    year_from: int | None = None
    year_to: int | None = None

    @property
    def is_phrase(self) -> bool:
        """True when several tokens must be adjacent."""
        return len(self.tokens) > 1

    @property
    def has_diacritics(self) -> bool:
        """True when the reader typed marks, so exact matches should rank first."""
        return self.tokens != self.folded


@dataclass(slots=True)
class ParsedQuery:
    """The parsed query: terms (all must match) and notices about what was changed."""

    text: str
    terms: list[Term] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when nothing searchable is left."""
        return not self.terms

    @property
    def text_terms(self) -> list[Term]:
        """Terms matched against the full-text index (not ISBN or year filters)."""
        return [t for t in self.terms if t.tokens]


def _clean(text: str) -> tuple[str, list[Notice]]:
    notices: list[Notice] = []
    text = unicodedata.normalize("NFC", text or "")
    if _CONTROL.search(text):
        text = _CONTROL.sub(" ", text)
        notices.append(Notice("control_characters"))
    if len(text) > MAX_QUERY_LENGTH:
        text = text[:MAX_QUERY_LENGTH]
        notices.append(Notice("too_long", str(MAX_QUERY_LENGTH)))
    return text.translate(_QUOTES).strip(), notices


def _text_term(field_name: str | None, raw: str, prefix_allowed: bool = True) -> Term | None:
    prefix = prefix_allowed and raw.rstrip().endswith("*")
    tokens = tuple(tokenize(exact(raw)))
    folded = tuple(tokenize(fold(raw)))
    if not tokens or len(tokens) != len(folded):
        # Folding can split a token (ligatures, "æ" -> "ae" stays one, but a compatibility
        # form may not): search the folded form alone then.
        tokens = folded
    if not tokens:
        return None
    return Term(field=field_name, tokens=tokens, folded=folded, prefix=prefix)


def parse_query(text: str | None) -> ParsedQuery:
    """Parse anything a user may type; never raises."""
    cleaned, notices = _clean(text or "")
    parsed = ParsedQuery(text=cleaned, notices=notices)
    for match in _CHUNK.finditer(cleaned):
        raw_field = match.group("field")
        field_name = _FIELD_ALIASES.get(fold(raw_field)) if raw_field else None
        phrase = match.group("phrase")
        word = match.group("word")
        if phrase is not None and not match.group("close"):
            parsed.notices.append(Notice("unbalanced_quote"))
        value = phrase if phrase is not None else word or ""
        if raw_field and field_name is None:
            # "Python: a guide" or "foo:bar": not a field we know, so it is text.
            parsed.notices.append(Notice("unknown_field", raw_field))
            value = f"{raw_field} {value}"
        term = _make_term(field_name, value, phrase is not None, parsed.notices)
        if term is not None:
            parsed.terms.append(term)
    if len(parsed.terms) > MAX_TERMS:
        parsed.terms = parsed.terms[:MAX_TERMS]
        parsed.notices.append(Notice("too_many_terms", str(MAX_TERMS)))
    if not parsed.terms and cleaned:
        parsed.notices.append(Notice("nothing_to_search"))
    return parsed


def _make_term(
    field_name: str | None, value: str, quoted: bool, notices: list[Notice]
) -> Term | None:
    value = value.strip()
    if field_name == "year":
        found = _YEAR.match(value)
        if not found:
            notices.append(Notice("bad_year", value))
            return None
        start = int(found.group(1))
        end = int(found.group(2) or start)
        return Term(field="year", year_from=min(start, end), year_to=max(start, end))
    if field_name == "isbn" or (field_name is None and not quoted and _ISBN_LIKE.match(value)):
        isbn = normalize_isbn(value)
        if isbn:
            return Term(field="isbn", isbn=isbn)
        if field_name == "isbn":
            notices.append(Notice("bad_isbn", value))
            return None
    if not quoted and value in _OPERATORS:
        # The default is already AND; other operators are not supported, say so once.
        if value not in ("AND", "VÀ") and not any(n.code == "operator" for n in notices):
            notices.append(Notice("operator", value))
        return None
    if not quoted and value.strip("*") == "" and value:
        notices.append(Notice("lone_wildcard"))
        return None
    return _text_term(field_name, value, prefix_allowed=not quoted)
