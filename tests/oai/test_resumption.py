"""Paging with resumption tokens: complete, exact, stable while the repository changes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from oai.errors import BadResumptionToken
from oai.resumption_token import ResumptionState, TokenCodec
from tests.oai.conftest import (
    OAI,
    REPOSITORY_ID,
    Harness,
    error_codes,
    identifiers,
    sample_repository,
    token_of,
)
from tests.oai.memory_source import MemorySource, sample_sets, source_record

START = datetime(2024, 1, 1, 8, 0, 0)


def big_repository(n: int = 57) -> MemorySource:
    """``n`` records, several sharing each datestamp (ties are broken by key)."""
    return MemorySource(
        source_record(key, START + timedelta(seconds=key // 3), library="HNM" if key % 2 else "DDA")
        for key in range(1, n + 1)
    ).with_sets(sample_sets())


def harvest(harness: Harness, verb: str, first: str, between=None) -> list[list[str]]:
    """Follow the tokens to the end; ``between(page_number)`` may change the source."""
    pages = []
    _, root = harness.ask(f"verb={verb}&{first}")
    while True:
        assert error_codes(root) == []
        pages.append(identifiers(root))
        token = token_of(root)
        if token is None or not token.text:
            return pages
        if between is not None:
            between(len(pages))
        _, root = harness.ask([("verb", verb), ("resumptionToken", token.text)])


@pytest.mark.parametrize("verb", ["ListIdentifiers", "ListRecords"])
def test_full_list_is_complete_and_paged_with_cursor_and_size(verb: str) -> None:
    harness = Harness(big_repository(57), page_size=10)
    _, root = harness.ask(f"verb={verb}&metadataPrefix=oai_dc")
    seen: list[str] = []
    cursors = []
    while True:
        seen += identifiers(root)
        token = token_of(root)
        if token is None:
            break
        cursors.append(int(token.get("cursor")))
        assert token.get("completeListSize") == "57"
        if not token.text:
            assert token.get("expirationDate") is None
            break
        # expirationDate = now + lifetime, to the second
        assert token.get("expirationDate") == "2024-03-08T12:00:00Z"
        _, root = harness.ask([("verb", verb), ("resumptionToken", token.text)])
    assert cursors == [0, 10, 20, 30, 40, 50]
    assert seen == [f"oai:{REPOSITORY_ID}:{k}" for k in range(1, 58)]


def test_single_page_list_has_no_token() -> None:
    harness = Harness(big_repository(7), page_size=10)
    _, root = harness.ask("verb=ListIdentifiers&metadataPrefix=oai_dc")
    assert len(identifiers(root)) == 7
    assert token_of(root) is None


def test_exact_multiple_of_page_size_ends_with_empty_token() -> None:
    harness = Harness(big_repository(20), page_size=10)
    pages = harvest(harness, "ListIdentifiers", "metadataPrefix=oai_dc")
    assert [len(p) for p in pages] == [10, 10]


def test_reissuing_a_token_returns_the_same_page() -> None:
    harness = Harness(big_repository(30), page_size=10)
    _, root = harness.ask("verb=ListRecords&metadataPrefix=marc21")
    token = token_of(root).text
    first = harness.ask([("verb", "ListRecords"), ("resumptionToken", token)])[1]
    again = harness.ask([("verb", "ListRecords"), ("resumptionToken", token)])[1]
    assert identifiers(first) == identifiers(again)


def test_token_keeps_the_selection() -> None:
    harness = Harness(big_repository(57), page_size=5)
    pages = harvest(
        harness,
        "ListIdentifiers",
        "metadataPrefix=oai_dc&set=library:DDA&from=2024-01-01T08:00:03Z&until=2024-01-01T08:00:15Z",
    )
    got = [i for page in pages for i in page]
    want = [f"oai:{REPOSITORY_ID}:{k}" for k in range(9, 48) if k % 2 == 0]
    assert got == want


def test_harvest_while_cataloguers_edit_add_and_delete() -> None:
    """Records unchanged throughout are delivered exactly once; changed ones may come again."""
    source = big_repository(60)
    harness = Harness(source, page_size=7)
    later = [START + timedelta(hours=1)]
    changed: set[int] = set()

    def edit(page: int) -> None:
        later[0] += timedelta(seconds=1)
        # an already-harvested record is edited, a pending one is edited, one is deleted,
        # a record is added, and one is deleted that was already delivered.
        for key in (page, 40 + page):
            source.touch(key, later[0])
            changed.add(key)
        source.delete(30 + page, later[0])
        changed.add(30 + page)
        source.put(source_record(100 + page, later[0]))
        changed.add(100 + page)

    pages = harvest(harness, "ListIdentifiers", "metadataPrefix=oai_dc", between=edit)
    got = [int(i.rsplit(":", 1)[1]) for page in pages for i in page]
    unchanged = set(range(1, 61)) - changed
    for key in unchanged:
        assert got.count(key) == 1, key
    # Changed records come at least once in their new state (they moved to the end).
    for key in changed:
        assert key in got


def test_deleted_records_are_listed_with_status_deleted() -> None:
    harness = Harness(sample_repository(), page_size=100)
    _, root = harness.ask("verb=ListRecords&metadataPrefix=marc21")
    deleted = [
        r.find(f"{OAI}header/{OAI}identifier").text
        for r in root.iter(f"{OAI}record")
        if r.find(f"{OAI}header").get("status") == "deleted"
    ]
    assert deleted == [f"oai:{REPOSITORY_ID}:5", f"oai:{REPOSITORY_ID}:12"]
    for record in root.iter(f"{OAI}record"):
        has_metadata = record.find(f"{OAI}metadata") is not None
        assert has_metadata != (record.find(f"{OAI}header").get("status") == "deleted")


def test_ended_list_when_remaining_records_left_the_range() -> None:
    source = big_repository(15)
    harness = Harness(source, page_size=10)
    _, root = harness.ask("verb=ListIdentifiers&metadataPrefix=oai_dc&until=2024-01-01T08:00:04Z")
    # 14 records in range; the last four move out of it before the second page.
    token = token_of(root).text
    for key in range(11, 15):
        source.touch(key, START + timedelta(days=1))
    _, root = harness.ask([("verb", "ListIdentifiers"), ("resumptionToken", token)])
    assert error_codes(root) == ["noRecordsMatch"]


# --- the codec itself ---


def _state(**changes: object) -> ResumptionState:
    values = dict(
        verb="ListRecords",
        metadata_prefix="oai_dc",
        set_spec="library:HNM",
        since=datetime(2024, 1, 1),
        until=datetime(2024, 1, 31, 23, 59, 59, 999999),
        after=(datetime(2024, 1, 5, 10, 0, 0, 123456), 42),
        cursor=100,
        complete_list_size=1234,
        expires=datetime(2024, 2, 1),
    )
    values.update(changes)
    return ResumptionState(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [42, "HNM-00042", "Sách/ 1"])
def test_codec_round_trip_keeps_microseconds_and_key_type(key: int | str) -> None:
    codec = TokenCodec("secret", REPOSITORY_ID, timedelta(days=1))
    state = _state(after=(datetime(2024, 1, 5, 10, 0, 0, 123456), key))
    token = codec.encode(state)
    assert all(c.isalnum() or c in "-_." for c in token)  # URL-safe as is
    assert codec.decode(token, "ListRecords", datetime(2024, 1, 20)) == state


@pytest.mark.parametrize(
    ("codec", "verb", "now"),
    [
        (TokenCodec("other secret", REPOSITORY_ID, timedelta(days=1)), "ListRecords", None),
        (TokenCodec("secret", "other.example.org", timedelta(days=1)), "ListRecords", None),
        (TokenCodec("secret", REPOSITORY_ID, timedelta(days=1)), "ListIdentifiers", None),
        (
            TokenCodec("secret", REPOSITORY_ID, timedelta(days=1)),
            "ListRecords",
            datetime(2024, 2, 1),
        ),
    ],
    ids=["other secret", "other repository", "other verb", "expired"],
)
def test_codec_refuses(codec: TokenCodec, verb: str, now: datetime | None) -> None:
    token = TokenCodec("secret", REPOSITORY_ID, timedelta(days=1)).encode(_state())
    with pytest.raises(BadResumptionToken):
        codec.decode(token, verb, now or datetime(2024, 1, 20))


def test_codec_refuses_every_single_character_change() -> None:
    codec = TokenCodec("secret", REPOSITORY_ID, timedelta(days=1))
    token = codec.encode(_state())
    for i in range(len(token)):
        altered = token[:i] + ("x" if token[i] != "x" else "y") + token[i + 1 :]
        with pytest.raises(BadResumptionToken):
            codec.decode(altered, "ListRecords", datetime(2024, 1, 20))


def test_codec_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        TokenCodec("", REPOSITORY_ID, timedelta(days=1))
