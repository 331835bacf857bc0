"""One case per rule of the OAI-PMH 2.0 specification: request → verb or error codes, count.

The sample repository (tests/oai/conftest.py) has 24 records, page size 10: records 5 and 12
are deleted, 22 lost its metadata (listed nowhere, GetRecord refuses it), 7/14/21 are maps
(type:em), odd keys belong to library HNM and even ones to DDA, record k changed on 2024-01-k.
A success case gives the number of records, headers, formats or sets on the first page.
Every response is validated against the official schemas.
"""

from __future__ import annotations

import pytest

from tests.oai.conftest import (
    OAI,
    REPOSITORY_ID,
    Harness,
    error_codes,
    sample_repository,
    token_of,
)

ID = f"oai:{REPOSITORY_ID}"

# (request, expected verb or error codes, count of items on the page, the rule)
CASES: list[tuple[str, str | tuple[str, ...], int, str]] = [
    # --- the verb (3.1.1, 3.6) ---
    ("", ("badVerb",), 0, "verb missing"),
    ("verb=Frobnicate", ("badVerb",), 0, "verb unknown"),
    ("verb=identify", ("badVerb",), 0, "verbs are case-sensitive"),
    ("verb=Identify&verb=Identify", ("badVerb",), 0, "verb repeated, even with the same value"),
    ("verb=Identify&verb=ListSets", ("badVerb",), 0, "two different verbs"),
    ("verb=", ("badVerb",), 0, "verb empty"),
    ("Verb=Identify", ("badVerb",), 0, "argument names are case-sensitive"),
    # --- Identify (4.2) ---
    ("verb=Identify", "Identify", 0, "Identify answers"),
    ("verb=Identify&metadataPrefix=oai_dc", ("badArgument",), 0, "Identify takes no argument"),
    ("verb=Identify&foo=bar", ("badArgument",), 0, "unknown argument"),
    # --- ListMetadataFormats (4.4) ---
    ("verb=ListMetadataFormats", "ListMetadataFormats", 3, "repository's formats"),
    (f"verb=ListMetadataFormats&identifier={ID}:1", "ListMetadataFormats", 3, "item formats"),
    (f"verb=ListMetadataFormats&identifier={ID}:5", "ListMetadataFormats", 3, "deleted item"),
    (f"verb=ListMetadataFormats&identifier={ID}:999", ("idDoesNotExist",), 0, "unknown id"),
    (
        "verb=ListMetadataFormats&identifier=oai:other.example.org:1",
        ("idDoesNotExist",),
        0,
        "another repository's identifier",
    ),
    (f"verb=ListMetadataFormats&identifier={ID}:%2531", ("idDoesNotExist",), 0, "needless escape"),
    (f"verb=ListMetadataFormats&identifier={ID}:%25zz", ("badArgument",), 0, "not a URI"),
    ("verb=ListMetadataFormats&identifier=urn:isbn:123", ("idDoesNotExist",), 0, "not oai:"),
    (f"verb=ListMetadataFormats&identifier={ID}:22", ("noMetadataFormats",), 0, "no metadata"),
    (
        f"verb=ListMetadataFormats&identifier={ID}:1&identifier={ID}:2",
        ("badArgument",),
        0,
        "identifier repeated",
    ),
    ("verb=ListMetadataFormats&identifier=", ("badArgument",), 0, "identifier empty"),
    ("verb=ListMetadataFormats&metadataPrefix=oai_dc", ("badArgument",), 0, "illegal argument"),
    # --- ListSets (4.6) ---
    ("verb=ListSets", "ListSets", 7, "all sets in one response"),
    ("verb=ListSets&resumptionToken=abc", ("badResumptionToken",), 0, "no ListSets tokens"),
    ("verb=ListSets&set=library:HNM", ("badArgument",), 0, "ListSets takes no set"),
    ("verb=ListSets&resumptionToken=abc&from=2024-01-01", ("badArgument",), 0, "exclusive"),
    ("flat:verb=ListSets", ("noSetHierarchy",), 0, "repository without sets"),
    # --- GetRecord (4.1) ---
    (f"verb=GetRecord&identifier={ID}:1&metadataPrefix=oai_dc", "GetRecord", 1, "oai_dc"),
    (f"verb=GetRecord&identifier={ID}:1&metadataPrefix=marc21", "GetRecord", 1, "marc21"),
    (f"verb=GetRecord&identifier={ID}:1&metadataPrefix=marcxml", "GetRecord", 1, "alias"),
    (f"verb=GetRecord&identifier={ID}:5&metadataPrefix=oai_dc", "GetRecord", 1, "deleted"),
    (f"verb=GetRecord&identifier={ID}:20&metadataPrefix=marc21", "GetRecord", 1, "provenance"),
    (f"verb=GetRecord&identifier={ID}:1", ("badArgument",), 0, "metadataPrefix missing"),
    ("verb=GetRecord&metadataPrefix=oai_dc", ("badArgument",), 0, "identifier missing"),
    (
        f"verb=GetRecord&identifier={ID}:1&metadataPrefix=mods",
        ("cannotDisseminateFormat",),
        0,
        "format not offered",
    ),
    (
        f"verb=GetRecord&identifier={ID}:999&metadataPrefix=oai_dc",
        ("idDoesNotExist",),
        0,
        "unknown identifier",
    ),
    (
        f"verb=GetRecord&identifier={ID}:999&metadataPrefix=mods",
        ("idDoesNotExist", "cannotDisseminateFormat"),
        0,
        "both errors reported together",
    ),
    (
        f"verb=GetRecord&identifier={ID}:22&metadataPrefix=oai_dc",
        ("cannotDisseminateFormat",),
        0,
        "item without metadata",
    ),
    (
        f"verb=GetRecord&identifier={ID}:1&metadataPrefix=oai_dc&from=2024-01-01",
        ("badArgument",),
        0,
        "GetRecord takes no from",
    ),
    (
        f"verb=GetRecord&identifier={ID}:1&metadataPrefix=oai%20dc",
        ("badArgument",),
        0,
        "metadataPrefix of illegal syntax",
    ),
    (
        f"verb=GetRecord&identifier={ID}:1&metadataPrefix=oai_dc&metadataPrefix=oai_dc",
        ("badArgument",),
        0,
        "metadataPrefix repeated",
    ),
    # --- ListIdentifiers (4.3) ---
    ("verb=ListIdentifiers&metadataPrefix=oai_dc", "ListIdentifiers", 10, "first page"),
    ("verb=ListIdentifiers&metadataPrefix=marcxml", "ListIdentifiers", 10, "alias"),
    ("verb=ListIdentifiers", ("badArgument",), 0, "metadataPrefix missing"),
    ("verb=ListIdentifiers&metadataPrefix=mods", ("cannotDisseminateFormat",), 0, "format"),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2024-01-10&until=2024-01-12",
        "ListIdentifiers",
        3,
        "day bounds inclusive, deletion included",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc"
        "&from=2024-01-10T10:30:15Z&until=2024-01-12T10:30:15Z",
        "ListIdentifiers",
        3,
        "second bounds inclusive",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc"
        "&from=2024-01-24T10:30:15Z&until=2024-01-24T10:30:15Z",
        "ListIdentifiers",
        1,
        "until covers the whole second (datestamp has microseconds)",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2024-01-10&until=2024-01-12T00:00:00Z",
        ("badArgument",),
        0,
        "mixed granularity",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2024-01-10T10:30Z",
        ("badArgument",),
        0,
        "minutes granularity not supported",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2024-01-10T10:30:15.5Z",
        ("badArgument",),
        0,
        "finer than seconds",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2024-01-10T10:30:15",
        ("badArgument",),
        0,
        "no Z: not UTC",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2024-01-10T10:30:15%2B07:00",
        ("badArgument",),
        0,
        "time zone offset",
    ),
    ("verb=ListIdentifiers&metadataPrefix=oai_dc&from=2024-02-30", ("badArgument",), 0, "date"),
    ("verb=ListIdentifiers&metadataPrefix=oai_dc&from=0000-01-01", ("badArgument",), 0, "year 0"),
    ("verb=ListIdentifiers&metadataPrefix=oai_dc&from=24-01-01", ("badArgument",), 0, "2-digit"),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2024-01-12&until=2024-01-10",
        ("badArgument",),
        0,
        "from later than until",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&until=2023-12-31",
        ("noRecordsMatch",),
        0,
        "until before earliestDatestamp",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2025-01-01",
        ("noRecordsMatch",),
        0,
        "from after the latest change",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&until=9999-12-31",
        "ListIdentifiers",
        10,
        "until at the end of time",
    ),
    ("verb=ListIdentifiers&metadataPrefix=oai_dc&set=type:em", "ListIdentifiers", 3, "set"),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&set=type",
        "ListIdentifiers",
        10,
        "a parent set holds its children's records",
    ),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&set=library:XYZ",
        ("noRecordsMatch",),
        0,
        "unknown set",
    ),
    ("verb=ListIdentifiers&metadataPrefix=oai_dc&set=library:", ("badArgument",), 0, "setSpec"),
    (
        "flat:verb=ListIdentifiers&metadataPrefix=oai_dc&set=library:HNM",
        ("noSetHierarchy",),
        0,
        "set asked of a repository without sets",
    ),
    (
        "flat:verb=ListIdentifiers&metadataPrefix=mods&set=library:HNM",
        ("cannotDisseminateFormat", "noSetHierarchy"),
        0,
        "both errors reported together",
    ),
    (
        "verb=ListIdentifiers&resumptionToken=garbage",
        ("badResumptionToken",),
        0,
        "token not ours",
    ),
    (
        "verb=ListIdentifiers&resumptionToken={LI}&metadataPrefix=oai_dc",
        ("badArgument",),
        0,
        "resumptionToken is exclusive",
    ),
    ("verb=ListIdentifiers&resumptionToken={LI}", "ListIdentifiers", 10, "second page"),
    ("verb=ListIdentifiers&resumptionToken=", ("badArgument",), 0, "empty token"),
    (
        "verb=ListIdentifiers&metadataPrefix=oai_dc&identifier=x",
        ("badArgument",),
        0,
        "ListIdentifiers takes no identifier",
    ),
    ("verb=ListIdentifiers&metadataprefix=oai_dc", ("badArgument",), 0, "name case"),
    # --- ListRecords (4.5) ---
    ("verb=ListRecords&metadataPrefix=oai_dc", "ListRecords", 10, "first page"),
    ("verb=ListRecords&metadataPrefix=marc21&from=2024-01-20", "ListRecords", 4, "from, lost 22"),
    ("verb=ListRecords", ("badArgument",), 0, "metadataPrefix missing"),
    ("verb=ListRecords&metadataPrefix=mods", ("cannotDisseminateFormat",), 0, "format"),
    ("verb=ListRecords&metadataPrefix=oai_dc&until=2024-01-02", "ListRecords", 2, "day until"),
    (
        "verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-05&until=2024-01-05",
        "ListRecords",
        1,
        "a deletion alone",
    ),
    (
        "verb=ListRecords&metadataPrefix=marc21&set=library:DDA&until=2024-01-06",
        "ListRecords",
        3,
        "set and until",
    ),
    (
        "verb=ListRecords&metadataPrefix=oai_dc&until=2023-12-31",
        ("noRecordsMatch",),
        0,
        "until before earliestDatestamp",
    ),
    ("verb=ListRecords&resumptionToken={LR}", "ListRecords", 10, "second page"),
    ("verb=ListRecords&resumptionToken={LI}", ("badResumptionToken",), 0, "other verb's token"),
    ("verb=ListRecords&resumptionToken={FOREIGN}", ("badResumptionToken",), 0, "foreign token"),
    ("verb=ListRecords&resumptionToken={TAMPERED}", ("badResumptionToken",), 0, "tampered"),
    ("verb=ListRecords&resumptionToken={EXPIRED}", ("badResumptionToken",), 0, "expired"),
    ("verb=ListRecords&resumptionToken={LR}&set=type:em", ("badArgument",), 0, "exclusive"),
    ("verb=ListRecords&metadataPrefix=oai_dc&identifier=x", ("badArgument",), 0, "illegal arg"),
    (
        "verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01&from=2024-01-02",
        ("badArgument",),
        0,
        "from repeated",
    ),
]


def _tokens() -> dict[str, str]:
    """Resumption tokens the cases refer to, taken from real first pages."""
    harness = Harness(sample_repository())
    found = {}
    for name, verb in (("LI", "ListIdentifiers"), ("LR", "ListRecords")):
        _, root = harness.ask(f"verb={verb}&metadataPrefix=oai_dc")
        found[name] = token_of(root).text
    tampered = list(found["LR"])
    tampered[10] = "A" if tampered[10] != "A" else "B"
    found["TAMPERED"] = "".join(tampered)
    other = Harness(sample_repository(), secret="another repository's secret")
    _, root = other.ask("verb=ListRecords&metadataPrefix=oai_dc")
    found["FOREIGN"] = token_of(root).text
    old = Harness(sample_repository())
    old.now[0] = old.now[0].replace(year=2023)  # its tokens expired long before NOW
    _, root = old.ask("verb=ListRecords&metadataPrefix=oai_dc")
    found["EXPIRED"] = token_of(root).text
    return found


TOKENS = _tokens()


def test_table_is_large_and_covers_every_error_code() -> None:
    codes = {c for _, expected, _, _ in CASES if isinstance(expected, tuple) for c in expected}
    assert len(CASES) >= 60
    assert codes == {
        "badArgument",
        "badResumptionToken",
        "badVerb",
        "cannotDisseminateFormat",
        "idDoesNotExist",
        "noRecordsMatch",
        "noMetadataFormats",
        "noSetHierarchy",
    }
    verbs = {e for _, e, _, _ in CASES if isinstance(e, str)}
    assert verbs == {
        "Identify",
        "ListMetadataFormats",
        "ListSets",
        "GetRecord",
        "ListIdentifiers",
        "ListRecords",
    }


_ITEM = {
    "Identify": None,
    "ListMetadataFormats": "metadataFormat",
    "ListSets": "set",
    "GetRecord": "record",
    "ListIdentifiers": "header",
    "ListRecords": "record",
}


@pytest.mark.parametrize(
    ("query", "expected", "count"),
    [pytest.param(q, e, c, id=f"{i:02d} {rule}") for i, (q, e, c, rule) in enumerate(CASES)],
)
def test_rule(
    query: str, expected: str | tuple[str, ...], count: int, harness: Harness, flat_harness: Harness
) -> None:
    if query.startswith("flat:"):
        harness, query = flat_harness, query.removeprefix("flat:")
    query = query.format(**TOKENS)
    response, root = harness.ask(query)
    request = root.find(f"{OAI}request")
    if isinstance(expected, tuple):
        assert sorted(error_codes(root)) == sorted(expected)
        assert root.find(f"{OAI}{response.verb}") is None if response.verb else True
        if {"badVerb", "badArgument"} & set(expected):
            # The base URL alone: no attributes echo a request the repository rejected.
            assert dict(request.attrib) == {}
        return
    assert error_codes(root) == []
    assert response.verb == expected
    body = root.find(f"{OAI}{expected}")
    assert body is not None
    # Any other answer echoes the request's arguments as attributes.
    assert request.get("verb") == expected
    item = _ITEM[expected]
    if item is not None:
        assert len(body.findall(f"{OAI}{item}")) == count
