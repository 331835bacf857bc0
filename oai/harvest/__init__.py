"""OAI-PMH harvester: client with retries, record reading, and a resumable page loop.

Plain Python (no Flask, no libext): :mod:`oai.harvest.client` talks to a repository,
:mod:`oai.harvest.records` turns ``<record>`` elements into MARC, :mod:`oai.harvest.runner`
drives the page loop into a :class:`~oai.harvest.runner.Sink`.
"""

from oai.harvest.client import IdentifyInfo, MetadataFormatInfo, OAIClient, Page, RetryPolicy
from oai.harvest.errors import (
    BadResumptionToken,
    BrokenPageError,
    HarvestError,
    OAIProtocolError,
    RecordProblem,
    RetryAfterTooLong,
    TransportError,
    UnexpectedResponse,
    UnsafeURLError,
)
from oai.harvest.records import HarvestedRecord, read_record, read_records
from oai.harvest.runner import HarvestPage, HarvestRequest, PageOutcome, RunResult, Sink, run

__all__ = [
    "BadResumptionToken",
    "BrokenPageError",
    "HarvestError",
    "HarvestPage",
    "HarvestRequest",
    "HarvestedRecord",
    "IdentifyInfo",
    "MetadataFormatInfo",
    "OAIClient",
    "OAIProtocolError",
    "Page",
    "PageOutcome",
    "RecordProblem",
    "RetryAfterTooLong",
    "RetryPolicy",
    "RunResult",
    "Sink",
    "TransportError",
    "UnexpectedResponse",
    "UnsafeURLError",
    "read_record",
    "read_records",
    "run",
]
