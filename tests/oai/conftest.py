"""Fixtures for the provider tests: a sample repository, a provider over it, a schema check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from lxml import etree

from oai.provider import OAIResponse, Provider, ProviderSettings
from oai.source import Provenance
from tests.oai.memory_source import MemorySource, sample_sets, source_record
from tests.paths import XSD_DIR

OAI = "{http://www.openarchives.org/OAI/2.0/}"
NS = {"oai": OAI[1:-1]}
BASE_URL = "http://thuvien.example.vn/oai"
REPOSITORY_ID = "thuvien.hanam.example.vn"
SECRET = "provider-test-secret"
NOW = datetime(2024, 3, 1, 12, 0, 0)

_schema: etree.XMLSchema | None = None


def oai_schema() -> etree.XMLSchema:
    """The official OAI-PMH schema with every metadata schema, resolved offline."""
    global _schema
    if _schema is None:
        _schema = etree.XMLSchema(file=str(XSD_DIR / "local" / "oai-pmh-all.xsd"))
    return _schema


def validated(body: bytes) -> etree._Element:
    """Parse a response and fail the test unless it is schema-valid."""
    root = etree.fromstring(body)
    schema = oai_schema()
    if not schema.validate(root):
        raise AssertionError(f"schema-invalid response: {schema.error_log}\n{body[:3000]!r}")
    return root


def sample_datestamp(key: int) -> datetime:
    """Record ``key`` of the sample repository was last changed on 2024-01-``key``."""
    # Key 24 carries microseconds, as a database timestamp does.
    return datetime(2024, 1, key, 10, 30, 15, 500000 if key == 24 else 0)


ORIGIN = Provenance(
    base_url="http://opac.hanoi.example.vn/oai",
    identifier="oai:opac.hanoi.example.vn:77",
    datestamp="2023-12-30",
    harvest_date="2024-01-19T08:00:00Z",
)


def sample_repository() -> MemorySource:
    """24 records over two libraries; deletions (5, 12), a harvested one (20), one record whose
    metadata the source lost (22), maps (7, 14, 21) and a serial (10)."""
    records = []
    for key in range(1, 25):
        records.append(
            source_record(
                key,
                sample_datestamp(key),
                library="HNM" if key % 2 else "DDA",
                material="em" if key % 7 == 0 else "as" if key == 10 else "am",
                deleted=key in (5, 12),
                metadata=key != 22,
                provenance=ORIGIN if key == 20 else None,
            )
        )
    return MemorySource(records, sample_sets())


@dataclass
class Harness:
    """A provider over a source, with a settable clock, that validates every answer."""

    source: MemorySource
    page_size: int = 10
    now: list[datetime] = field(default_factory=lambda: [NOW])
    secret: str = SECRET
    repository_identifier: str = REPOSITORY_ID

    def __post_init__(self) -> None:
        self.provider = Provider(
            self.source,
            ProviderSettings(
                repository_name="Mạng thư viện tỉnh Hà Nam",
                repository_identifier=self.repository_identifier,
                admin_emails=("thuvien@hanam.example.vn",),
                page_size=self.page_size,
                token_lifetime=timedelta(days=7),
            ),
            secret=self.secret,
            clock=lambda: self.now[0],
        )

    def ask(self, query: str | Iterable[tuple[str, str]]) -> tuple[OAIResponse, etree._Element]:
        """Send a request (query string or pairs); the response must be schema-valid."""
        pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else query
        response = self.provider.handle(list(pairs), BASE_URL)
        assert response.status == 200
        return response, validated(response.body)


def error_codes(root: etree._Element) -> list[str]:
    """The codes of a response's ``<error>`` elements."""
    return [e.get("code") for e in root.findall(f"{OAI}error")]


def identifiers(root: etree._Element) -> list[str]:
    """The identifiers of the headers of a response, in order."""
    return [e.text for e in root.iter(f"{OAI}identifier") if e.getparent().tag == f"{OAI}header"]


def token_of(root: etree._Element) -> etree._Element | None:
    """The ``resumptionToken`` element, if any."""
    return next(root.iter(f"{OAI}resumptionToken"), None)


@pytest.fixture
def harness() -> Harness:
    """A provider (page size 10) over the sample repository."""
    return Harness(sample_repository())


@pytest.fixture
def flat_harness() -> Harness:
    """A provider over a repository without sets."""
    source = sample_repository()
    source.set_infos = []
    return Harness(source)
