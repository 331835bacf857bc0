"""Small rules of the harvester, one case per rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oai.harvest import UnsafeURLError
from oai.harvest.address import check_base_url
from oai.harvest.client import parse_retry_after
from oai.harvest.feed import INVALID_BYTES_MARK, clean, parse
from oai.harvest.records import parse_datestamp

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),  # delta-seconds
        (" 5 ", 5.0),
        ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),  # HTTP date, 30 s ahead
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # a date in the past means "now"
        ("soon", None),  # unreadable: treated as absent
        (None, None),
    ],
)
def test_retry_after(header, seconds):
    assert parse_retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2026-03-04", datetime(2026, 3, 4)),
        ("2026-03-04T05:06:07Z", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T05:06:07.123Z", datetime(2026, 3, 4, 5, 6, 7)),
        ("2026-03-04T12:00:00+07:00", datetime(2026, 3, 4, 5, 0, 0)),  # offsets seen in the wild
        ("2026-02-30", None),
        ("yesterday", None),
    ],
)
def test_datestamps(text, value):
    assert parse_datestamp(text) == value


def test_declared_latin1_is_decoded_and_reencoded():
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>Caf\xe9</responseDate></OAI-PMH>'
    cleaned = clean(data)
    root = parse(cleaned.data)
    assert root[0].text == "Café" and cleaned.repairs == []


def test_invalid_utf8_is_marked_not_guessed():
    cleaned = clean(b"<a>ok \xff\xfe end</a>")
    assert cleaned.data.decode() == f"<a>ok {INVALID_BYTES_MARK}{INVALID_BYTES_MARK} end</a>"
    assert cleaned.invalid_sequences == 2


def test_legal_character_references_are_kept():
    assert clean(b"<a>&#233;&#x1F;&#9;&#0;</a>").data == b"<a>&#233;&#9;</a>"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/oai", "only http"),
        ("http:///oai", "no host"),
        ("http://user:pw@example.org/oai", "credentials"),
        ("http://127.0.0.1:8080/oai", "loopback, private or reserved"),
        ("http://169.254.169.254/latest", "loopback, private or reserved"),  # cloud metadata
        ("http://192.168.1.10/oai", "loopback, private or reserved"),
        ("http://[::1]/oai", "loopback, private or reserved"),
    ],
)
def test_unsafe_urls_are_refused(url, reason):
    with pytest.raises(UnsafeURLError, match=reason):
        check_base_url(url)


def test_allowed_networks_open_loopback():
    assert check_base_url(" http://127.0.0.1:8080/oai ", ["127.0.0.0/8"]) == (
        "http://127.0.0.1:8080/oai"
    )


MARC = "http://www.loc.gov/MARC21/slim"


def _oai_record(marc: str, identifier: str = "oai:test:1") -> str:
    return (
        f'<record xmlns="http://www.openarchives.org/OAI/2.0/"><header>'
        f"<identifier>{identifier}</identifier><datestamp>2026-01-01</datestamp></header>"
        f"<metadata>{marc}</metadata></record>"
    )


def _marc(*fields: str) -> str:
    return (
        f'<record xmlns="{MARC}"><leader>00000nam a2200000 a 4500</leader>'
        '<controlfield tag="001">x1</controlfield>' + "".join(fields) + "</record>"
    )


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ('<controlfield tag="1">x</controlfield>', "control field with a bad tag '1'"),
        ('<datafield tag="0245" ind1=" " ind2=" "><subfield code="a">T</subfield></datafield>',
         "data field with a bad tag '0245'"),
        ('<datafield tag="9.9" ind1=" " ind2=" "><subfield code="a">T</subfield></datafield>',
         "data field with a bad tag '9.9'"),
        ('<datafield tag="005" ind1=" " ind2=" "><subfield code="a">T</subfield></datafield>',
         "data field with a bad tag '005'"),
        ('<datafield tag="245" ind1=" " ind2=" "><subfield code=" ">T</subfield></datafield>',
         "field 245 has a bad subfield code ' '"),
        ('<datafield tag="245" ind1=" " ind2=" "><subfield code="&#9;">T</subfield></datafield>',
         "field 245 has a bad subfield code '\\t'"),
    ],
)  # fmt: skip
def test_harvested_marcxml_that_iso_2709_cannot_hold_is_a_problem(field: str, reason: str) -> None:
    """Nothing validates a harvested record after it is read: its structure is checked here
    (an import reads the same records with warnings and validates them afterwards)."""
    from lxml import etree

    from oai.harvest.errors import RecordProblem
    from oai.harvest.records import read_record

    element = etree.fromstring(_oai_record(_marc(field)))
    with pytest.raises(RecordProblem) as problem:
        read_record(element)
    assert str(problem.value) == f"oai:test:1: MARCXML {reason}"


def test_subfields_in_the_feeds_default_namespace_are_read() -> None:
    """A prefixed MARC record whose children sit in the OAI default namespace (seen in the
    wild) keeps its subfields, as its other elements."""
    from lxml import etree

    from oai.harvest.records import read_record

    marc = (
        f'<marc:record xmlns:marc="{MARC}"><leader>00000nam a2200000 a 4500</leader>'
        '<controlfield tag="001">x1</controlfield><datafield tag="245" ind1="1" ind2="0">'
        '<subfield code="a">Truyện Kiều</subfield></datafield></marc:record>'
    )
    record = read_record(etree.fromstring(_oai_record(marc))).record
    assert record is not None and record["245"]["a"] == "Truyện Kiều"


def test_a_page_with_a_repeated_xml_id_is_read() -> None:
    """The reading worker parses the page as the fetcher did: ``xml:id``s are not collected,
    so the same id on two records costs nothing."""
    from oai.harvest.runner import RawPage, read_page

    records = "".join(
        _oai_record(_marc().replace("<leader>", '<leader xml:id="L">'), f"oai:test:{n}")
        for n in (1, 2)
    )
    page = (
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01'
        f"</responseDate><ListRecords>{records}</ListRecords></OAI-PMH>"
    ).encode()
    read = read_page(RawPage(1, page, None, "2026-01-01", "http://x"))
    assert [r.identifier for r in read.records] == ["oai:test:1", "oai:test:2"]
    assert read.problems == []
