"""The harvester against recorded real OAI-PMH responses (see ../shared/data/oai/SOURCES.txt)."""

from __future__ import annotations

import re

import pytest

from oai.harvest import (
    BadResumptionToken,
    BrokenPageError,
    HarvestRequest,
    OAIProtocolError,
    RetryPolicy,
    run,
)
from tests.harvest import oai_server as srv
from tests.harvest.conftest import FAST

_IDENTIFIER = re.compile(rb"<identifier>\s*([^<\s]+)\s*</identifier>")


def identifiers(page: bytes) -> set[str]:
    """Identifiers in a recorded page, read with a regex (independent of the harvester)."""
    return {m.decode() for m in _IDENTIFIER.findall(page)}


def test_sickle_oai_dc_chain(make_client, sink):
    pages = {
        None: srv.recorded("sickle", "ListRecords.xml"),
        "ListRecords2.xml": srv.recorded("sickle", "ListRecords2.xml"),
        "ListRecords3.xml": srv.recorded("sickle", "ListRecords3.xml"),
        "ListRecords4.xml": srv.recorded("sickle", "ListRecords4.xml"),
    }
    with srv.OAIServer(srv.Feed(pages)) as server:
        result = run(make_client(server.url), HarvestRequest("oai_dc"), sink)
    assert result.ok and result.pages == 4
    # Each page repeats a deleted record and a live one; page 4's deleted header has no
    # identifier at all (a real provider bug) and is skipped.
    assert sink.records == {
        "oai:test.example.com:1585310": "<deleted>",
        "oai:test.example.com:1585322": "Sample Title",
    }
    assert result.problems == ["record without identifier: header without an identifier"]


def test_oai_dc_becomes_minimal_marc_with_origin_note(make_client, sink):
    captured = []

    class Capture(type(sink)):
        def write_page(self, page):
            captured.extend(page.records)
            return super().write_page(page)

    capture = Capture()
    pages = {None: srv.recorded("sickle", "ListRecords4.xml")}
    with srv.OAIServer(srv.Feed(pages)) as server:
        run(make_client(server.url), HarvestRequest("oai_dc"), capture)
        url = server.url
    (item,) = captured
    record = item.record
    assert item.metadata_format == "oai_dc"
    assert record.leader[6:8] == "am" and record.leader[17] == "3"
    assert record["245"]["a"] == "Sample Title"
    assert record["100"]["a"] == "John Doe"
    assert record["008"].data[35:38] == "eng"
    assert record["035"]["a"] == "(OAI)oai:test.example.com:1585322"
    note = record["588"]["a"]
    assert url in note and "oai:test.example.com:1585322" in note
    assert "Dublin Core" in record.get_fields("500")[-1]["a"]
    assert record.get_fields("856")[0]["u"] == "http://test.example.com/publication/1585322"


def test_real_marc21_chain_with_a_broken_record(make_client, sink):
    first = srv.recorded("mod-reservoir", "oai-response-1.xml")
    psu = srv.recorded("mod-reservoir", "pennstate-bad-rec-20221216.xml")
    vufind = srv.recorded("vufindharvest", "marc.xml")
    pages = {
        None: first,
        "MzM5OzE7Ozt2MS4w": psu,
        "75948_aaeta": vufind,
        "fakeresumptiontoken": srv.list_page([], None),
    }
    with srv.OAIServer(srv.Feed(pages)) as server:
        result = run(make_client(server.url), HarvestRequest("marc21"), sink)
    assert result.ok and result.pages == 4
    # Penn State's page has one record with bytes that are not UTF-8 and one MARCXML record
    # without a leader: only those two are skipped, the other 298 of the page are kept.
    bad_bytes = "oai:cat.libraries.psu.edu:18158488"
    no_leader = "oai:cat.libraries.psu.edu:181592"
    expected = identifiers(first) | identifiers(psu) | identifiers(vufind)
    assert len(expected) == 4 + 300 + 100
    assert set(sink.records) == expected - {bad_bytes, no_leader}
    assert sink.records["998212783503681"] == "<deleted>"
    assert result.skipped == 2
    assert result.problems == [
        f"{bad_bytes}: bytes that are not valid in the feed encoding (record skipped rather "
        "than stored with guessed characters)",
        f"{no_leader}: MARCXML record has no leader",
    ]
    assert result.deleted == 1 and result.added == 401


def test_identify_and_formats_from_recorded_answers(make_client):
    feed = srv.Feed(
        {None: srv.list_page([], None)},
        identify=srv.recorded("sickle", "Identify.xml"),
        formats=srv.recorded("sickle", "ListMetadataFormats.xml"),
    )
    with srv.OAIServer(feed) as server:
        client = make_client(server.url)
        info = client.identify()
        formats = client.list_metadata_formats()
    assert info.repository_name == "A Test Repository"
    assert info.granularity == "YYYY-MM-DD"
    assert info.earliest_datestamp == "1970-01-01T00:00:00Z"
    assert info.deleted_record == "persistent"
    assert info.admin_emails == ("john.doe@example.com",)
    assert [f.prefix for f in formats] == [
        "epicur",
        "xMetaDissPlus",
        "oai_dc",
        "mods",
        "swepub_mods",
    ]


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        (("sickle", "ListRecordsBroken.xml"), "not well-formed"),
        (("pyoai", "fake3_00001.xml"), "not well-formed"),
        (("pyoai", "fake4_00001.xml"), "not well-formed"),  # undefined entity &bogus;
        (("mod-reservoir", "oai-response-5.xml"), "not well-formed"),
    ],
)
def test_recorded_broken_pages_stop_cleanly(make_client, sink, relative, reason):
    feed = srv.Feed({None: srv.recorded(*relative)})
    with srv.OAIServer(feed) as server:
        result = run(make_client(server.url), HarvestRequest("oai_dc"), sink)
        assert len(server.log) == FAST.max_attempts
    assert not result.ok and reason in (result.error or "")
    assert sink.records == {}


@pytest.mark.parametrize(
    "relative",
    [("sickle", "noRecordsMatch.xml"), ("invenio-oaiharvester", "sample_empty_response.xml")],
)
def test_recorded_no_records_match(make_client, sink, relative):
    with srv.OAIServer(srv.Feed({None: srv.recorded(*relative)})) as server:
        result = run(make_client(server.url), HarvestRequest("oai_dc"), sink)
    assert result.ok and result.complete and sink.records == {}


def test_recorded_protocol_errors_are_their_own_exceptions(make_client):
    feed = srv.Feed({None: srv.recorded("sickle", "cannotDisseminateFormat.xml")})
    with srv.OAIServer(feed) as server:
        client = make_client(server.url)
        with pytest.raises(OAIProtocolError) as info:
            list(client.list_records("oai_marc"))
        assert info.value.code == "cannotDisseminateFormat"
        with pytest.raises(BadResumptionToken):
            list(client.list_records(token="whatever"))


# -- hardened parsing ------------------------------------------------------------------------------

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>&lol3;</responseDate>
<ListRecords/></OAI-PMH>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>&x;</responseDate>
<ListRecords/></OAI-PMH>"""

DEEP = (
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
    + b"<a>" * 400
    + b"</a>" * 400
    + b"</ListRecords></OAI-PMH>"
)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (LAUGHS, "DOCTYPE"),
        (EXTERNAL, "DOCTYPE"),
        (DEEP, "depth"),
        (b"<html><body>Maintenance</body></html>", "not an OAI-PMH response"),
        (b"", "empty response"),
    ],
    ids=["entity-expansion", "external-entity", "too-deep", "html", "empty"],
)
def test_unsafe_or_foreign_pages_are_refused(make_client, sink, content, reason):
    with srv.OAIServer(srv.Feed({None: content})) as server:
        result = run(make_client(server.url), HarvestRequest("marc21"), sink)
    assert not result.ok and reason in (result.error or "")
    assert "root:" not in (result.error or "")  # /etc/passwd never read
    assert sink.records == {}


def test_oversized_page_is_refused_without_retry(make_client, sink):
    policy = RetryPolicy(**{**FAST.__dict__, "max_page_bytes": 10_000})
    with srv.OAIServer(srv.generated_feed(100, 100)) as server:
        with pytest.raises(BrokenPageError, match="10000 byte limit"):
            list(make_client(server.url, policy).list_records("marc21"))
        assert len(server.log) == 1
