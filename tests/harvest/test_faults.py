"""One test per fault the harvester must survive, each checking the exact final set of records.

The server is a real HTTP server on loopback (see ``oai_server.py``); the records land in a
:class:`MemorySink` keyed by OAI identifier, as the store keys them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from oai.harvest import HarvestRequest, run
from tests.harvest import oai_server as srv
from tests.harvest.conftest import FAST

ALL = {f"oai:test:{n}" for n in range(1, 11)}
FIRST_PAGE = {"oai:test:1", "oai:test:2", "oai:test:3"}
REQUEST = HarvestRequest("marc21")


def feed():
    # 10 records in pages of 3: first page, then tokens p2, p3, p4.
    return srv.generated_feed(10, 3)


def test_clean_feed_is_harvested_completely(make_client, sink):
    with srv.OAIServer(feed()) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok and result.complete
    assert (result.pages, result.added, result.skipped) == (4, 10, 0)
    assert set(sink.records) == ALL
    assert sink.records["oai:test:7"] == "Sách thử số 7"
    assert sink.token is None


def test_503_with_retry_after_seconds_is_honoured(make_client, sink, sleeps):
    with srv.OAIServer(feed(), [srv.status(503, "p2", times=2, retry_after="1")]) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok
    assert set(sink.records) == ALL
    assert sleeps.waits == [1.0, 1.0]
    assert [p.get("resumptionToken") for p in server.log].count("p2") == 3


def test_503_with_retry_after_http_date_is_honoured(make_client, sink, sleeps):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    with srv.OAIServer(feed(), [srv.status(503, "p3", retry_after=when)]) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok
    assert set(sink.records) == ALL
    assert len(sleeps.waits) == 1 and 0.0 <= sleeps.waits[0] <= 2.0


def test_503_without_retry_after_waits_the_default(make_client, sink, sleeps):
    with srv.OAIServer(feed(), [srv.status(503, "p2")]) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok and set(sink.records) == ALL
    assert sleeps.waits == [FAST.retry_after_default]


def test_503_asking_too_long_a_wait_stops_cleanly(make_client, sink, sleeps):
    with srv.OAIServer(feed(), [srv.status(503, "p2", retry_after="3600")]) as server:
        result = run(make_client(server.url), REQUEST, sink)
        assert not result.ok
        assert "3600 s" in (result.error or "")
        assert sleeps.waits == []
        assert set(sink.records) == FIRST_PAGE
        assert sink.token == "p2"
        # The next run goes on from the saved page and loses nothing.
        resumed = run(make_client(server.url), HarvestRequest("marc21", resume_token="p2"), sink)
    assert resumed.ok and set(sink.records) == ALL


def test_500_is_retried_with_backoff(make_client, sink, sleeps):
    with srv.OAIServer(feed(), [srv.status(500, "p3", times=3)]) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok and set(sink.records) == ALL
    assert len(sleeps.waits) == 3
    # Exponential with jitter: each wait lies in [ceiling/2, ceiling], ceilings 0.01, 0.02, 0.04.
    for wait, ceiling in zip(sleeps.waits, (0.01, 0.02, 0.04), strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_persistent_5xx_gives_up_after_the_bound(make_client, sink, sleeps):
    with srv.OAIServer(feed(), [srv.status(502, "p2", times=100)]) as server:
        result = run(make_client(server.url), REQUEST, sink)
        requests_for_p2 = [p.get("resumptionToken") for p in server.log].count("p2")
    assert not result.ok and "HTTP 502" in (result.error or "")
    assert requests_for_p2 == FAST.max_attempts
    assert set(sink.records) == FIRST_PAGE and sink.token == "p2"


def test_timeout_is_retried(make_client, sink):
    with srv.OAIServer(feed(), [srv.slow(FAST.read_timeout * 3, "p2")]) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok and set(sink.records) == ALL


def test_connection_reset_is_retried(make_client, sink):
    with srv.OAIServer(feed(), [srv.reset("p4"), srv.reset(srv.FIRST)]) as server:
        result = run(make_client(server.url), REQUEST, sink)
        assert len(server.log) == 6  # four pages, two of them asked twice
    assert result.ok and set(sink.records) == ALL


def test_broken_xml_page_is_retried(make_client, sink):
    with srv.OAIServer(feed(), [srv.body(b"<OAI-PMH><ListRecords><rec", "p2")]) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok and set(sink.records) == ALL


def test_persistently_broken_page_stops_cleanly_and_resumes(make_client, sink):
    broken = srv.recorded("pyoai", "fake3_00001.xml")  # real: mismatched tags
    with srv.OAIServer(feed(), [srv.body(broken, "p3", times=100)]) as server:
        result = run(make_client(server.url), REQUEST, sink)
        assert not result.ok and result.error and "not well-formed" in result.error
        assert set(sink.records) == {f"oai:test:{n}" for n in range(1, 7)}
        assert sink.token == "p3"
        server.faults.clear()
        resumed = run(make_client(server.url), HarvestRequest("marc21", resume_token="p3"), sink)
    assert resumed.ok and set(sink.records) == ALL
    assert sink.writes == 10  # nothing written twice


def test_one_broken_record_in_a_good_page_is_skipped(make_client, sink):
    bad = {5: "<record xmlns='http://www.loc.gov/MARC21/slim'><datafield tag='245'/></record>"}
    page_feed = srv.generated_feed(10, 3, record=lambda n: bad.get(n) or srv.marc_record(n))
    with srv.OAIServer(page_feed) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok
    assert set(sink.records) == ALL - {"oai:test:5"}
    assert result.skipped == 1
    assert result.problems == ["oai:test:5: MARCXML record has no leader"]


def test_invalid_utf8_skips_only_the_record_that_has_it(make_client, sink):
    page = srv.generated_feed(10, 3).pages["p2"]
    # Record 5's title in Latin-1 inside a UTF-8 page: "Sách" with á as the single byte 0xE1.
    corrupt = page.replace("Sách thử số 5".encode(), b"S\xe1ch th\xff s\xf4 5")
    with srv.OAIServer(feed(), [srv.body(corrupt, "p2", times=100)]) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok
    assert set(sink.records) == ALL - {"oai:test:5"}
    assert result.skipped == 1 and "not valid in the feed encoding" in result.problems[0]
    assert result.repairs == ["page 2: 3 invalid UTF-8 byte sequence(s)"]


def test_control_characters_are_removed_and_the_record_kept(make_client, sink):
    page = srv.generated_feed(10, 3).pages["p2"]
    dirty = page.replace("Sách thử số 4".encode(), "Sách\x1f thử&#31; số\x0b 4&#x1E;".encode())
    with srv.OAIServer(feed(), [srv.body(dirty, "p2", times=100)]) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok and set(sink.records) == ALL
    assert sink.records["oai:test:4"] == "Sách thử số 4"
    assert result.repairs == ["page 2: 4 XML-illegal control character(s) removed"]


def test_expired_saved_token_restarts_from_the_high_water_mark(make_client, sink):
    page_feed = feed()
    page_feed.expired.add("p3-of-yesterday")
    # A run killed yesterday after page 2 saved the token of page 3; it has expired since.
    sink.records = {f"oai:test:{n}": f"Sách thử số {n}" for n in range(1, 7)}
    sink.token = "p3-of-yesterday"
    request = HarvestRequest("marc21", from_="2026-01-01T00:00:00Z", resume_token="p3-of-yesterday")
    with srv.OAIServer(page_feed) as server:
        result = run(make_client(server.url), request, sink)
        restart_request = server.log[1]
    assert result.ok and result.restarts == 1 and len(sink.restarts) == 1
    assert restart_request == {
        "verb": "ListRecords",
        "metadataPrefix": "marc21",
        "from": "2026-01-01T00:00:00Z",
    }
    assert set(sink.records) == ALL
    assert (result.added, result.unchanged) == (4, 6)  # re-seen records changed nothing


def test_no_records_match_is_success_with_zero_records(make_client, sink):
    empty = srv.Feed(pages={None: srv.recorded("sickle", "noRecordsMatch.xml")})
    with srv.OAIServer(empty) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok and result.complete
    assert (result.pages, sink.records) == (0, {})


def test_deletions_are_followed(make_client, sink):
    with srv.OAIServer(srv.generated_feed(10, 3, deleted=[2, 9])) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert result.ok and result.deleted == 2
    assert sink.live == ALL - {"oai:test:2", "oai:test:9"}
    assert sink.records["oai:test:9"] == "<deleted>"


def test_forbidden_stops_at_once(make_client, sink, sleeps):
    with srv.OAIServer(feed(), [srv.status(403, "p2")]) as server:
        result = run(make_client(server.url), REQUEST, sink)
        assert len(server.log) == 2
    assert not result.ok and "HTTP 403" in (result.error or "")
    assert sleeps.waits == [] and set(sink.records) == FIRST_PAGE


def test_provider_repeating_its_token_is_stopped(make_client, sink):
    looping = feed()
    looping.pages["p2"] = looping.pages["p2"].replace(b">p3<", b">p2<")
    with srv.OAIServer(looping) as server:
        result = run(make_client(server.url), REQUEST, sink)
    assert not result.ok and "same resumption token" in (result.error or "")
    assert set(sink.records) == {f"oai:test:{n}" for n in range(1, 7)}


def test_redirect_is_followed(make_client, sink):
    # A provider that moved: every request is sent on with 302 Found to the new server.
    with srv.OAIServer(feed()) as moved:
        target = f"{moved.url}?verb=ListRecords&metadataPrefix=marc21"
        with srv.OAIServer(feed(), [srv.status(302, location=target)]) as old:
            result = run(make_client(old.url), REQUEST, sink)
    assert result.ok and set(sink.records) == ALL


def test_redirect_into_a_forbidden_network_is_refused(sink, sleeps):
    from oai.harvest import OAIClient
    from oai.harvest.address import check_base_url

    # Only 127.0.0.1/32 is allowed; the provider redirects to another loopback address.
    with srv.OAIServer(feed(), [srv.status(302, location="http://127.0.0.2:9/oai")]) as server:
        guard = lambda url: check_base_url(url, ["127.0.0.1/32"])  # noqa: E731
        with OAIClient(server.url, FAST, sleep=sleeps, url_guard=guard) as client:
            result = run(client, REQUEST, sink)
    assert not result.ok and "127.0.0.2" in (result.error or "")
    assert sink.records == {} and sleeps.waits == []
