"""Identify, provenance, identifiers and failure handling of the provider."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from oai.provider import Provider, ProviderSettings
from oai.source import ListQuery, SourceRecord
from tests.oai.conftest import (
    BASE_URL,
    NOW,
    OAI,
    REPOSITORY_ID,
    Harness,
    error_codes,
    identifiers,
    sample_repository,
    validated,
)
from tests.oai.memory_source import MemorySource, source_record

PROV = "{http://www.openarchives.org/OAI/2.0/provenance}"
OID = "{http://www.openarchives.org/OAI/2.0/oai-identifier}"


def test_identify(harness: Harness) -> None:
    _, root = harness.ask("verb=Identify")
    body = root.find(f"{OAI}Identify")
    assert body.findtext(f"{OAI}repositoryName") == "Mạng thư viện tỉnh Hà Nam"
    assert body.findtext(f"{OAI}baseURL") == BASE_URL
    assert body.findtext(f"{OAI}protocolVersion") == "2.0"
    assert body.findtext(f"{OAI}adminEmail") == "thuvien@hanam.example.vn"
    assert body.findtext(f"{OAI}earliestDatestamp") == "2024-01-01T10:30:15Z"
    assert body.findtext(f"{OAI}deletedRecord") == "persistent"
    assert body.findtext(f"{OAI}granularity") == "YYYY-MM-DDThh:mm:ssZ"
    description = body.find(f"{OAI}description/{OID}oai-identifier")
    assert description.findtext(f"{OID}repositoryIdentifier") == REPOSITORY_ID
    sample = description.findtext(f"{OID}sampleIdentifier")
    # The sample is a real record, which GetRecord serves.
    _, got = harness.ask(
        [("verb", "GetRecord"), ("identifier", sample), ("metadataPrefix", "oai_dc")]
    )
    assert error_codes(got) == []


def test_identify_of_an_empty_repository() -> None:
    _, root = Harness(MemorySource()).ask("verb=Identify")
    assert root.findtext(f"{OAI}Identify/{OAI}earliestDatestamp") == "2024-03-01T12:00:00Z"


@pytest.mark.parametrize(("prefix", "altered"), [("marc21", "false"), ("oai_dc", "true")])
def test_harvested_records_carry_provenance(harness: Harness, prefix: str, altered: str) -> None:
    _, root = harness.ask(
        f"verb=GetRecord&identifier=oai:{REPOSITORY_ID}:20&metadataPrefix={prefix}"
    )
    origin = root.find(f".//{OAI}about/{PROV}provenance/{PROV}originDescription")
    assert origin.get("altered") == altered
    assert origin.get("harvestDate") == "2024-01-19T08:00:00Z"
    assert origin.findtext(f"{PROV}baseURL") == "http://opac.hanoi.example.vn/oai"
    assert origin.findtext(f"{PROV}identifier") == "oai:opac.hanoi.example.vn:77"
    assert origin.findtext(f"{PROV}datestamp") == "2023-12-30"  # granularity kept
    # Records of this repository's own have no <about>.
    _, root = harness.ask(
        f"verb=GetRecord&identifier=oai:{REPOSITORY_ID}:1&metadataPrefix={prefix}"
    )
    assert root.find(f".//{OAI}about") is None


class TextKeySource(MemorySource):
    """A host ILS whose keys are strings such as barcodes with spaces and Vietnamese."""

    def parse_key(self, text: str) -> int | str | None:
        return text if text in self.records else None


def test_text_keys_are_escaped_into_legal_identifiers() -> None:
    key = "Sách quý/HN 001"
    record = source_record(1, datetime(2024, 1, 1))
    source = TextKeySource([SourceRecord(**{**_fields(record), "key": key})])
    harness = Harness(source)
    _, root = harness.ask("verb=ListIdentifiers&metadataPrefix=oai_dc")
    (identifier,) = identifiers(root)
    assert identifier == f"oai:{REPOSITORY_ID}:S%C3%A1ch%20qu%C3%BD/HN%20001"
    _, root = harness.ask(
        [("verb", "GetRecord"), ("identifier", identifier), ("metadataPrefix", "marc21")]
    )
    assert error_codes(root) == []


def _fields(record: SourceRecord) -> dict:
    return {name: getattr(record, name) for name in SourceRecord.FIELDS}


class BrokenSource(MemorySource):
    """A source whose database went away."""

    def list(self, query: ListQuery, limit: int) -> list[SourceRecord]:
        raise ConnectionError("database is down")


def test_a_failing_source_gives_503_not_an_exception(caplog: pytest.LogCaptureFixture) -> None:
    provider = Harness(BrokenSource([source_record(1, NOW)])).provider
    with caplog.at_level(logging.ERROR):
        response = provider.handle(
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc")], BASE_URL
        )
    assert response.status == 503
    assert response.headers["Retry-After"] == "60"
    assert "database is down" in caplog.text
    # Requests that never reach the records are still answered.
    ok = provider.handle([("verb", "ListMetadataFormats")], BASE_URL)
    assert ok.status == 200
    validated(ok.body)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"repository_identifier": "thu vien"}, "domain name"),
        ({"repository_identifier": "localhost"}, "domain name"),
        ({"admin_emails": ()}, "e-mail"),
        ({"admin_emails": ("not-an-address",)}, "e-mail"),
        ({"page_size": 0}, "page size"),
        ({"token_lifetime": timedelta(0)}, "lifetime"),
    ],
)
def test_settings_are_checked_when_the_provider_is_configured(changes: dict, message: str) -> None:
    values = {
        "repository_name": "Thư viện",
        "repository_identifier": REPOSITORY_ID,
        "admin_emails": ("a@b.vn",),
        **changes,
    }
    with pytest.raises(ValueError, match=message):
        ProviderSettings(**values)


def test_provider_reads_only_through_the_seam() -> None:
    source = sample_repository()
    provider = Provider(
        source,
        ProviderSettings("Thư viện", REPOSITORY_ID, ("a@b.vn",)),
        secret="x",
    )
    response = provider.handle([("verb", "ListSets")], BASE_URL)
    assert response.status == 200 and response.error_codes == ()


def test_one_provider_serves_several_threads(harness: Harness) -> None:
    from concurrent.futures import ThreadPoolExecutor

    queries = [
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("set", "library:HNM")],
        [("verb", "ListRecords"), ("metadataPrefix", "marc21"), ("set", "library:DDA")],
    ] * 20
    expected = [
        identifiers(validated(harness.provider.handle(q, BASE_URL).body)) for q in queries[:2]
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda q: harness.provider.handle(q, BASE_URL).body, queries))
    for i, body in enumerate(bodies):
        assert identifiers(validated(body)) == expected[i % 2]
