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
