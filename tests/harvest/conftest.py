"""Fixtures for the harvester tests: a fast retry policy and an in-memory sink."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import select

from libext.models import Library, Record
from oai.harvest import HarvestPage, OAIClient, PageOutcome, RetryPolicy
from tests.conftest import make_app


@dataclass
class MemorySink:
    """A sink keeping records by OAI identifier, like the store keys them per library.

    ``records[identifier]`` is the 245 $a (or ``"<deleted>"``); ``token`` is the token saved
    with the last written page, as the store saves it.
    """

    records: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    pages: int = 0
    writes: int = 0
    restarts: list[str] = field(default_factory=list)

    def write_page(self, page: HarvestPage) -> PageOutcome:
        outcome = PageOutcome()
        for item in page.records:
            self.writes += 1
            if item.deleted:
                value = "<deleted>"
                outcome.deleted += 1
            else:
                assert item.record is not None
                value = item.record["245"]["a"] if item.record["245"] else ""
            before = self.records.get(item.identifier)
            if before is None and not item.deleted:
                outcome.added += 1
            elif before == value:
                outcome.unchanged += 1
            elif not item.deleted:
                outcome.updated += 1
            self.records[item.identifier] = value
        self.token = page.token
        self.pages += 1
        return outcome

    def restart(self, reason: str) -> None:
        self.restarts.append(reason)
        self.token = None

    @property
    def live(self) -> set[str]:
        """Identifiers of records that are not deleted."""
        return {key for key, value in self.records.items() if value != "<deleted>"}


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@dataclass
class SleepLog:
    """Records every wait the client asks for (and really waits, so servers see real time)."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        import time

        self.waits.append(seconds)
        time.sleep(min(seconds, 3.0))


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


FAST = RetryPolicy(
    max_attempts=4,
    backoff_base=0.01,
    backoff_max=0.05,
    retry_after_max=5.0,
    retry_after_default=0.05,
    connect_timeout=2.0,
    # Generous enough that a loaded CI machine never times out by accident (tests count requests).
    read_timeout=2.0,
)


@pytest.fixture
def make_client(sleeps: SleepLog):
    clients: list[OAIClient] = []

    def make(url: str, policy: RetryPolicy = FAST) -> OAIClient:
        client = OAIClient(url, policy, sleep=sleeps)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


STORE_CONFIG = {
    "LIBEXT_HARVEST_ALLOWED_NETWORKS": ["127.0.0.0/8"],
    "LIBEXT_HARVEST_BACKOFF_BASE": 0.01,
    "LIBEXT_HARVEST_BACKOFF_MAX": 0.05,
    "LIBEXT_HARVEST_RETRY_AFTER_DEFAULT": 0.05,
    "LIBEXT_HARVEST_MAX_ATTEMPTS": 3,
    "LIBEXT_HARVEST_READ_TIMEOUT": 5.0,
}


@pytest.fixture
def app(db_url: str):
    """The test app with harvest settings for loopback servers and fast retries."""
    application = make_app(db_url, **STORE_CONFIG)
    yield application
    with application.app_context():
        application.extensions["libext"].db.engine.dispose()


def cli(app: Flask, *args: str) -> tuple[int, dict]:
    """Run ``flask libext ARGS --json``; exit code and the JSON document."""
    result = app.test_cli_runner().invoke(args=["libext", *args, "--json"])
    assert result.output, result.exception
    return result.exit_code, json.loads(result.output)


def records(app: Flask, code: str) -> dict[str, tuple[str, bool]]:
    """``{OAI identifier: (title, deleted)}`` of library ``code``, from the store."""
    with app.app_context():
        session = app.extensions["libext"].db.session
        rows = session.scalars(select(Record).join(Record.library).where(Library.code == code))
        return {r.local_id: (r.title, r.deleted) for r in rows}
