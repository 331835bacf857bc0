"""Real harvesters against the real endpoint on a loopback HTTP server.

sickle harvests with GET; pyoai 2.5 (the second, independent client) with form-encoded POST.
pyoai calls lxml's ``XPathEvaluator.evaluate``, which lxml 6 removed: the test gives pyoai an
``etree`` whose evaluator has it again (``oai_support.pyoai_client``); nothing else is patched.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sickle import Sickle
from sickle.oaiexceptions import NoRecordsMatch

from tests.blueprints.oai_support import (
    delete_record,
    edit_record,
    live_ids,
    load_records,
    pyoai_client,
    serve,
)
from tests.host_ils import SAMPLE_BOOKS, Book, create_host_app, db

ID = "oai:libext.local:"
PAGE = 25
COUNT = 133  # six pages


def key(identifier: str) -> int:
    assert identifier.startswith(ID), identifier
    return int(identifier[len(ID) :])


def sickle_harvest(url: str, verb: str = "ListRecords", **args: str) -> list[tuple[int, bool]]:
    """(id, deleted) of every item sickle gets, in order."""
    client = Sickle(f"{url}/oai", max_retries=0)
    try:
        items = getattr(client, verb)(ignore_deleted=False, **args)
        headers = [i if verb == "ListIdentifiers" else i.header for i in items]
    except NoRecordsMatch:
        return []
    return [(key(h.identifier), h.deleted) for h in headers]


@pytest.fixture
def store_app(app: Flask) -> Flask:
    """The bare app with 133 records (one deleted), six pages of 25."""
    app.config["LIBEXT_OAI_PAGE_SIZE"] = PAGE
    ids = load_records(app, COUNT)
    delete_record(app, ids[10])
    return app


@pytest.mark.parametrize("prefix", ["marc21", "oai_dc", "marcxml"])
def test_sickle_harvests_everything_once(store_app: Flask, prefix: str) -> None:
    live, gone = live_ids(store_app)
    with serve(store_app) as url:
        items = sickle_harvest(url, metadataPrefix=prefix)
        headers = sickle_harvest(url, "ListIdentifiers", metadataPrefix=prefix)
    ids = [i for i, _ in items]
    assert len(ids) == len(set(ids)) == COUNT
    assert set(ids) == live | gone
    assert {i for i, deleted in items if deleted} == gone and len(gone) == 1
    assert headers == items


def test_pyoai_harvests_everything_once_by_post(store_app: Flask) -> None:
    live, gone = live_ids(store_app)
    with serve(store_app) as url:
        client = pyoai_client(f"{url}/oai")
        identify = client.identify()
        assert identify.baseURL() == f"{url}/oai"
        assert identify.deletedRecord() == "persistent"
        records = list(client.listRecords(metadataPrefix="oai_dc"))
        headers = list(client.listIdentifiers(metadataPrefix="oai_dc"))
        formats = {prefix for prefix, _, _ in client.listMetadataFormats()}
        sets = {spec for spec, _, _ in client.listSets()}
    ids = [key(header.identifier()) for header, _, _ in records]
    assert len(ids) == len(set(ids)) == COUNT
    assert set(ids) == live | gone
    assert {key(h.identifier()) for h, _, _ in records if h.isDeleted()} == gone
    for header, metadata, _ in records:
        assert (metadata is None) == header.isDeleted()
        if metadata is not None:
            assert metadata["title"][0].startswith("Sách số ")
    assert [key(h.identifier()) for h in headers] == ids
    assert formats == {"marc21", "marcxml", "oai_dc"}
    assert {"library:HNM", "library:DDA", "type:am", "type:em"} <= sets


def test_incremental_harvest_returns_exactly_the_changes(store_app: Flask) -> None:
    live, gone = live_ids(store_app)
    ids = sorted(live)
    # Everything was loaded a day ago except the fixture's deletion, made just now.
    since = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=1)
    after = {"from": f"{since:%Y-%m-%dT%H:%M:%SZ}"}
    with serve(store_app) as url:
        assert len(sickle_harvest(url, metadataPrefix="marc21")) == COUNT
        assert sickle_harvest(url, metadataPrefix="marc21", **after) == [(min(gone), True)]
        edit_record(store_app, ids[0], "Sách đã sửa")
        edit_record(store_app, ids[50], "Sách đã sửa nữa")
        delete_record(store_app, ids[70])
        (added,) = load_records(store_app, 1, start=1000, backdate=False)
        changed = sickle_harvest(url, metadataPrefix="marc21", **after)
        by_day = sickle_harvest(
            url,
            "ListIdentifiers",
            metadataPrefix="oai_dc",
            **{"from": f"{datetime.now(UTC):%Y-%m-%d}"},
        )
    assert changed == [
        (min(gone), True),
        (ids[0], False),
        (ids[50], False),
        (ids[70], True),
        (added, False),
    ]  # in the order they changed
    # Day granularity from today: the same records (the others are dated yesterday).
    assert by_day == changed


def test_harvest_while_cataloguers_edit_add_and_delete(store_app: Flask) -> None:
    """Between pages, records already sent and records still to come are edited and deleted,
    and new ones are added: nothing unchanged throughout is missed or repeated."""
    live, gone = live_ids(store_app)
    ids = sorted(live)
    touched: set[int] = set()
    added: list[int] = []
    with serve(store_app) as url:
        client = Sickle(f"{url}/oai", max_retries=0)
        seen: list[int] = []
        for n, header in enumerate(
            client.ListIdentifiers(metadataPrefix="marc21", ignore_deleted=False), 1
        ):
            seen.append(key(header.identifier))
            if n % PAGE == 0:  # the page is used up; the next one is not fetched yet
                page = n // PAGE
                behind, ahead = ids[page], ids[-page * 3]
                edit_record(store_app, behind, f"Sửa sau trang {page}")
                edit_record(store_app, ahead, f"Sửa trước trang {page}")
                delete_record(store_app, ids[60 + page])
                added += load_records(store_app, 1, start=2000 + page, backdate=False)
                touched |= {behind, ahead, ids[60 + page]}
    unchanged = (live | gone) - touched
    for record_id in unchanged:
        assert seen.count(record_id) == 1, record_id
    for record_id in touched | set(added):
        assert record_id in seen  # changed records come again, at the end, in their new state
    assert len(seen) == len(unchanged) + len(touched) + len(added) + sum(
        seen.count(i) - 1 for i in touched
    )


@pytest.fixture
def host_app(db_url: str) -> Flask:
    """The host ILS test app, with its books published through its own seam."""
    app = create_host_app(db_url, LIBEXT_OAI_PAGE_SIZE=3)
    with app.app_context():
        for n in range(3):
            for title, author, isbn, year, shelfmark in SAMPLE_BOOKS:
                db.session.add(
                    Book(title=f"{title} ({n + 1})", author=author, isbn=isbn, year=year,
                         shelfmark=shelfmark, updated=datetime(2024, 1, 1) + timedelta(hours=n))
                )  # fmt: skip
        db.session.flush()
        db.session.get(Book, 2).withdrawn = True
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()
        app.extensions["libext"].db.engine.dispose()


def test_host_ils_records_are_harvested_the_same_way(host_app: Flask) -> None:
    with host_app.app_context():
        books = {b.id: b.withdrawn for b in db.session.scalars(db.select(Book))}
    with serve(host_app) as url:
        items = sickle_harvest(url, metadataPrefix="marc21")
        client = pyoai_client(f"{url}/oai")
        by_pyoai = [
            (key(h.identifier()), h.isDeleted())
            for h, _, _ in client.listRecords(metadataPrefix="oai_dc")
        ]
        record = Sickle(f"{url}/oai").GetRecord(identifier=f"{ID}1", metadataPrefix="oai_dc")
    assert len(items) == len(books) == 12  # four pages of three
    assert dict(items) == books
    assert by_pyoai == items
    assert record.metadata["title"] == ["Truyện Kiều (1)"]
