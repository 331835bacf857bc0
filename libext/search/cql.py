"""The CQL subset SRU clients send for copy cataloguing, parsed into libext queries.

Supported: indexes ``cql.anywhere`` / ``cql.serverChoice`` (or none), ``dc.title``,
``dc.creator``, ``dc.subject``, ``bath.isbn`` (and their short names); relations ``=``,
``==``, ``all``, ``any``, ``adj``, ``exact``; booleans ``and`` / ``or`` with parentheses.
A query becomes a disjunction of conjunctions (each a query string of
:mod:`libext.search.query`), which the SRU layer runs and merges. Anything else raises
:class:`CQLError` carrying the SRU diagnostic number to answer with.

Small enough to write here: a recursive-descent parser of CQL 1.2's grammar for this subset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_CONJUNCTS", "CQLError", "cql_to_queries"]

#: Largest number of OR branches a query may expand to.
MAX_CONJUNCTS = 16
#: Deepest nesting of parentheses accepted in a query.
MAX_NESTING = 32

_INDEXES = {
    "cql.anywhere": "",
    "cql.serverchoice": "",
    "cql.keywords": "",
    "anywhere": "",
    "serverchoice": "",
    "keywords": "",
    "dc.title": "title",
    "title": "title",
    "dc.creator": "author",
    "creator": "author",
    "dc.author": "author",
    "author": "author",
    "dc.subject": "subject",
    "subject": "subject",
    "bath.isbn": "isbn",
    "isbn": "isbn",
    "dc.identifier": "isbn",
}
_RELATIONS = {"=", "==", "all", "any", "adj", "exact", "scr"}
# Every relation CQL 1.2 defines, so an unsupported one is reported as such (diagnostic 19).
_CQL_RELATIONS = _RELATIONS | {"<>", "<", ">", "<=", ">=", "within", "encloses"}
_BOOLEANS = {"and", "or", "not", "prox"}
_TOKEN = re.compile(
    r'\s*(?:(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<sym>==|<>|<=|>=|[()=<>/])|(?P<word>[^\s()=<>/"]+))'
)


class CQLError(Exception):
    """A query this server cannot run; ``code`` is the SRU diagnostic number."""

    def __init__(self, code: int, details: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.details = details
        self.message = message


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "quoted", "sym", "word"
    text: str


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise CQLError(10, text[pos : pos + 20], "Query syntax error")
        pos = match.end()
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "quoted":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append(_Token(kind, value))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise CQLError(10, "", "Query syntax error: unexpected end of query")
        self.pos += 1
        return token

    def query(self) -> list[list[str]]:
        left = self.clause()
        while (token := self.peek()) is not None and token.kind == "word":
            op = token.text.lower()
            if op not in _BOOLEANS:
                raise CQLError(10, token.text, "Query syntax error: expected a boolean")
            self.take()
            while (mod := self.peek()) is not None and mod.text == "/":
                self.take()
                self.take()  # boolean modifiers are accepted and ignored
            if op in ("not", "prox"):
                raise CQLError(37, op, "Unsupported boolean operator")
            right = self.clause()
            left = _and(left, right) if op == "and" else left + right
            if len(left) > MAX_CONJUNCTS:
                raise CQLError(10, "", "Query too complex: too many OR branches")
        return left

    def clause(self) -> list[list[str]]:
        token = self.take()
        if token.kind == "sym" and token.text == "(":
            # Each parenthesis is a level of recursion: a hostile query must not reach
            # Python's recursion limit.
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise CQLError(10, "(", "Query too complex: parentheses nested too deeply")
            inner = self.query()
            self.depth -= 1
            closing = self.take()
            if closing.text != ")":
                raise CQLError(10, closing.text, "Query syntax error: missing )")
            return inner
        if token.kind == "sym":
            raise CQLError(10, token.text, "Query syntax error")
        following = self.peek()
        relation_next = following is not None and (
            (following.kind == "sym" and following.text not in "()")
            or (following.kind == "word" and following.text.lower() in _CQL_RELATIONS)
        )
        if token.kind == "word" and relation_next:
            index = token.text.lower()
            relation = self.take().text.lower()
            while (mod := self.peek()) is not None and mod.text == "/":
                self.take()
                self.take()
            term = self.take()
            if term.kind == "sym":
                raise CQLError(10, term.text, "Query syntax error: missing search term")
            return _clause(index, relation, term.text)
        return _clause("cql.serverchoice", "=", token.text)


def _and(left: list[list[str]], right: list[list[str]]) -> list[list[str]]:
    return [a + b for a in left for b in right]


def _clean(term: str) -> str:
    # Quotes cannot reach the query language; CQL's own wildcards are passed through.
    return term.replace('"', " ").strip()


def _clause(index: str, relation: str, term: str) -> list[list[str]]:
    if index not in _INDEXES:
        raise CQLError(16, index, "Unsupported index")
    if relation not in _RELATIONS:
        raise CQLError(19, relation, "Unsupported relation")
    field = _INDEXES[index]
    term = _clean(term)
    if not term or term == "*":
        # "cql.allRecords"-like queries would list the whole catalogue.
        raise CQLError(10, term, "Query syntax error: empty search term")
    prefix = f"{field}:" if field else ""
    words = term.split()
    if field == "isbn":
        return [[f"isbn:{term.replace(' ', '')}"]]
    if relation in ("==", "exact", "adj") and len(words) > 1:
        return [[f'{prefix}"{term}"']]
    if relation == "any":
        return [[f"{prefix}{word}"] for word in words][:MAX_CONJUNCTS]
    return [[f"{prefix}{word}" for word in words]]


def cql_to_queries(text: str) -> list[str]:
    """The query strings whose union answers ``text`` (raises :class:`CQLError`)."""
    if not text or not text.strip():
        raise CQLError(7, "query", "Mandatory parameter not supplied")
    parser = _Parser(text)
    conjuncts = parser.query()
    if parser.peek() is not None:
        raise CQLError(10, parser.peek().text, "Query syntax error")  # type: ignore[union-attr]
    return [" ".join(c) for c in conjuncts]
