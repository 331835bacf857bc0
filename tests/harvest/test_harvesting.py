"""Harvesting into the store, through the CLI, on SQLite and PostgreSQL.

The provider is the fault-injecting loopback server; the records land in the real store.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from libext.models import HarvestRun, HarvestSeen, HarvestSource, Record
from tests.harvest import oai_server as srv
from tests.harvest.conftest import cli, records


def titles(numbers) -> dict[str, tuple[str, bool]]:
    return {f"oai:test:{n}": (f"Sách thử số {n}", False) for n in numbers}


def test_add_then_harvest_then_nothing_changes(app):
    with srv.OAIServer(srv.generated_feed(10, 3)) as server:
        code, added = cli(app, "source", "add", "HNM", "--url", server.url, "--name", "TV Hà Nam")
        assert code == 0 and added["prefix"] == "marc21"
        assert added["granularity"] == "YYYY-MM-DDThh:mm:ssZ"
        code, report = cli(app, "harvest", "HNM")
        assert code == 0
        assert report == {
            "sources": [
                {
                    "source": "HNM",
                    "status": "ok",
                    "pages": 4,
                    "added": 10,
                    "updated": 0,
                    "deleted": 0,
                    "skipped": 0,
                    "error": None,
                }
            ]
        }
        first = records(app, "HNM")
        assert first == titles(range(1, 11))
        with app.app_context():
            session = app.extensions["libext"].db.session
            stamps = {r.local_id: r.datestamp for r in session.scalars(select(Record))}
            rec = session.scalar(select(Record).where(Record.local_id == "oai:test:3"))
            assert rec.origin_base_url == server.url
            assert rec.origin_identifier == "oai:test:3"
            assert rec.origin_datestamp == "2026-01-01T00:00:03Z"
            assert rec.library.name == "TV Hà Nam"
            assert rec.isbns  # extraction ran: 020 became an ISBN column
        # The next run is incremental: from the high-water mark less the overlap (600 s).
        code, report = cli(app, "harvest", "HNM")
        assert code == 0 and report["sources"][0]["added"] == 0
        assert report["sources"][0]["updated"] == 0
        requests = [p for p in server.log if p.get("verb") == "ListRecords"]
        assert requests[4] == {
            "verb": "ListRecords",
            "metadataPrefix": "marc21",
            "from": "2025-12-31T23:50:00Z",
        }
    with app.app_context():
        session = app.extensions["libext"].db.session
        assert {r.local_id: r.datestamp for r in session.scalars(select(Record))} == stamps


def test_deletions_and_updates_are_followed(app):
    feed = srv.generated_feed(6, 3)
    with srv.OAIServer(feed) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        cli(app, "harvest", "HNM")
        changed = srv.generated_feed(
            6, 3, deleted=[2], record=lambda n: srv.marc_record(n, "Đổi tên" if n == 5 else None)
        )
        server.feed.pages = changed.pages
        code, report = cli(app, "harvest", "HNM")
    assert code == 0
    assert (report["sources"][0]["deleted"], report["sources"][0]["updated"]) == (1, 1)
    expected = titles([1, 3, 4, 6]) | {
        "oai:test:2": ("Sách thử số 2", True),
        "oai:test:5": ("Đổi tên", False),
    }
    assert records(app, "HNM") == expected


def test_oai_dc_source_is_stored_as_minimal_marc(app):
    pages = {None: srv.recorded("sickle", "ListRecords4.xml")}
    feed = srv.Feed(pages, identify=srv.identify("YYYY-MM-DD"), formats=srv.formats(["oai_dc"]))
    with srv.OAIServer(feed) as server:
        code, added = cli(app, "source", "add", "DC", "--url", server.url)
        assert added["prefix"] == "oai_dc"
        code, report = cli(app, "harvest", "DC")
        assert code == 0 and report["sources"][0]["skipped"] == 1  # header without identifier
        # Converting again gives the same bytes: a second full harvest changes nothing.
        code, again = cli(app, "harvest", "DC", "--full")
    assert code == 0 and (again["sources"][0]["added"], again["sources"][0]["updated"]) == (0, 0)
    assert records(app, "DC") == {"oai:test.example.com:1585322": ("Sample Title", False)}


def test_expired_saved_token_restarts_from_high_water_mark(app):
    with srv.OAIServer(srv.generated_feed(10, 3)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        with app.app_context():
            session = app.extensions["libext"].db.session
            source = session.scalar(select(HarvestSource))
            source.resumption_token = "expired-token"
            session.commit()
        server.feed.expired.add("expired-token")
        code, report = cli(app, "harvest", "HNM")
        assert server.log[2] == {"verb": "ListRecords", "resumptionToken": "expired-token"}
        assert server.log[3] == {"verb": "ListRecords", "metadataPrefix": "marc21"}
    assert code == 0 and report["sources"][0]["added"] == 10
    assert records(app, "HNM") == titles(range(1, 11))


def test_failed_run_is_logged_and_resumed(app):
    feed = srv.generated_feed(10, 3)
    with srv.OAIServer(feed, [srv.status(500, "p3", times=100)]) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        code, report = cli(app, "harvest", "HNM")
        assert code == 1
        assert report["sources"][0]["status"] == "failed"
        assert "HTTP 500" in report["sources"][0]["error"]
        assert records(app, "HNM") == titles(range(1, 7))
        server.faults.clear()
        code, report = cli(app, "harvest", "HNM")
        assert code == 0 and report["sources"][0]["added"] == 4
        assert server.log[-2] == {"verb": "ListRecords", "resumptionToken": "p3"}
    assert records(app, "HNM") == titles(range(1, 11))
    code, listing = cli(app, "source", "list")
    (row,) = listing["sources"]
    assert row["last_run"]["status"] == "ok" and row["last_run"]["resumed"] is True
    assert row["last_success"] == row["last_run"]["finished"]
    with app.app_context():
        runs = app.extensions["libext"].db.session.scalars(select(HarvestRun)).all()
        assert [r.status for r in runs] == ["failed", "ok"]


def test_all_in_parallel_one_failure_does_not_stop_the_others(app):
    servers = [srv.OAIServer(srv.generated_feed(9, 2, prefix=f"oai:{c}:")) for c in "ABC"]
    broken = srv.OAIServer(srv.generated_feed(4, 2))
    with servers[0], servers[1], servers[2], broken:
        for code, server in zip(("A", "B", "C"), servers, strict=True):
            assert cli(app, "source", "add", code, "--url", server.url)[0] == 0
        assert cli(app, "source", "add", "X", "--url", broken.url)[0] == 0
        broken.add_fault(srv.status(403, srv.FIRST))
        app.config["LIBEXT_HARVEST_WORKERS"] = 4
        code, report = cli(app, "harvest", "--all")
    assert code == 1
    statuses = {r["source"]: (r["status"], r["added"]) for r in report["sources"]}
    assert statuses == {"A": ("ok", 9), "B": ("ok", 9), "C": ("ok", 9), "X": ("failed", 0)}
    for code in "ABC":
        assert set(records(app, code)) == {f"oai:{code}:{n}" for n in range(1, 10)}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["source", "add", "L1", "--url", "ftp://example.org/oai"], "only http"),
        (["source", "add", "L1", "--url", "http://10.1.2.3/oai"], "LIBEXT_HARVEST_ALLOWED"),
        (["source", "add", "bad code", "--url", "http://example.org/"], "invalid library code"),
        (["harvest"], "or use --all"),
        (["harvest", "NOPE"], "has no harvest source"),
        (["harvest", "--all", "--from", "last week"], "not a date"),
        (["source", "remove", "NOPE"], "has no harvest source"),
    ],
)
def test_bad_input_is_a_clear_error(app, args, message):
    code, data = cli(app, *args)
    assert code == 2 and message in data["error"]


def test_non_oai_url_and_missing_prefix_are_refused(app):
    html = srv.Feed({None: b""}, identify=b"<html>Hello</html>", formats=b"")
    with srv.OAIServer(html) as server:
        code, data = cli(app, "source", "add", "L1", "--url", server.url)
    assert code == 2 and "did not answer as an OAI-PMH repository" in data["error"]
    feed = srv.generated_feed(1, 1)
    with srv.OAIServer(feed) as server:
        code, data = cli(app, "source", "add", "L1", "--url", server.url, "--prefix", "mods")
    assert code == 2 and "does not offer metadata prefix 'mods'" in data["error"]
    assert "marc21" in data["error"]


def test_edit_and_remove(app):
    with srv.OAIServer(srv.generated_feed(3, 3)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        cli(app, "harvest", "HNM")
        code, data = cli(app, "source", "edit", "HNM", "--prefix", "oai_dc", "--disable")
        assert code == 0 and data["prefix"] == "oai_dc" and data["enabled"] is False
        assert data["high_water"] is None  # a different feed starts from scratch
        code, report = cli(app, "harvest", "--all")
        assert report == {"sources": []}
    code, data = cli(app, "source", "remove", "HNM")
    assert code == 0
    assert cli(app, "source", "list")[1] == {"sources": []}
    assert len(records(app, "HNM")) == 3  # the library's records stay


def test_a_writer_in_another_connection_only_delays_the_harvest(app, db_url):
    """Another process writing (an import, the web app) makes the harvest wait, not fail."""
    import threading

    import sqlalchemy as sa

    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    held = threading.Event()

    def hold_the_database() -> None:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")
                conn.exec_driver_sql("LOCK TABLE libext_record IN EXCLUSIVE MODE")
            held.set()
            time.sleep(1.5)
            conn.exec_driver_sql("COMMIT")

    with srv.OAIServer(srv.generated_feed(6, 3)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        holder = threading.Thread(target=hold_the_database)
        holder.start()
        held.wait(10)
        code, report = cli(app, "harvest", "HNM")
        holder.join()
    engine.dispose()
    assert code == 0, report
    assert records(app, "HNM") == titles(range(1, 7))


def test_set_is_checked_against_list_sets(app):
    feed = srv.generated_feed(2, 2)
    feed.sets = srv.recorded("sickle", "ListSets.xml")  # a real repository's 131 sets
    with srv.OAIServer(feed) as server:
        code, data = cli(app, "source", "add", "HNM", "--url", server.url, "--set", "nosuch")
        assert code == 2 and "has no set 'nosuch'" in data["error"]
        assert "bookChapterFtxt" in data["error"]
        code, data = cli(app, "source", "add", "HNM", "--url", server.url, "--set", "bookFtxt")
        assert code == 0 and data["set"] == "bookFtxt"
        cli(app, "harvest", "HNM")
        assert server.log[-1]["set"] == "bookFtxt"
    with srv.OAIServer(srv.generated_feed(2, 2)) as server:  # answers noSetHierarchy
        code, data = cli(app, "source", "add", "L2", "--url", server.url, "--set", "x")
    assert code == 2 and "has no sets" in data["error"]


def test_full_harvest_marks_records_the_repository_dropped(app):
    """A repository that keeps no deletions: --full notices what disappeared."""
    with srv.OAIServer(srv.generated_feed(6, 4)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        cli(app, "harvest", "HNM")
        # Books 2 and 5 are withdrawn without a trace (deletedRecord "no").
        server.feed.pages = srv.generated_feed(6, 4, omit=[2, 5]).pages
        code, report = cli(app, "harvest", "HNM")  # incremental: cannot notice
        assert code == 0 and report["sources"][0]["deleted"] == 0
        code, report = cli(app, "harvest", "HNM", "--full")
    assert code == 0 and report["sources"][0]["deleted"] == 2
    expected = titles([1, 3, 4, 6]) | {
        "oai:test:2": ("Sách thử số 2", True),
        "oai:test:5": ("Sách thử số 5", True),
    }
    assert records(app, "HNM") == expected


def test_full_harvest_keeps_a_record_it_lists_but_cannot_read(app):
    """A record the repository still lists, unreadable this time, is not withdrawn."""
    bad = "<record xmlns='http://www.loc.gov/MARC21/slim'><datafield tag='245'/></record>"
    with srv.OAIServer(srv.generated_feed(6, 4)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        cli(app, "harvest", "HNM")
        server.feed.pages = srv.generated_feed(
            6, 4, omit=[2, 5], record=lambda n: bad if n == 3 else srv.marc_record(n)
        ).pages
        code, report = cli(app, "harvest", "HNM", "--full")
    assert code == 0 and report["sources"][0]["deleted"] == 2
    assert report["sources"][0]["skipped"] == 1
    assert records(app, "HNM")["oai:test:3"] == ("Sách thử số 3", False)


def test_full_harvest_of_nothing_sweeps_nothing(app):
    with srv.OAIServer(srv.generated_feed(3, 3)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        cli(app, "harvest", "HNM")
        server.feed.pages = {None: srv.recorded("sickle", "noRecordsMatch.xml")}
        code, report = cli(app, "harvest", "HNM", "--full")
    assert code == 0 and report["sources"][0]["deleted"] == 0
    assert records(app, "HNM") == titles([1, 2, 3])


@pytest.mark.parametrize("workers", [0, 2])
def test_record_too_large_for_iso2709_is_skipped_not_stored_broken(db_url, workers):
    """A 13,500-byte note does not fit an ISO 2709 field (9,999 bytes at most): that record is
    reported and skipped, never stored as broken bytes; the rest of the page goes in."""
    from tests.conftest import make_app
    from tests.harvest.conftest import STORE_CONFIG

    def record(n: int) -> str:
        if n != 4:
            return srv.marc_record(n)
        note = '<datafield tag="500" ind1=" " ind2=" "><subfield code="a">' + "ghi chú " * 1500
        return srv.marc_record(n).replace("</record>", note + "</subfield></datafield></record>")

    app = make_app(db_url, **{**STORE_CONFIG, "LIBEXT_WORKER_PROCESSES": workers})
    with srv.OAIServer(srv.generated_feed(9, 3, record=record)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        code, report = cli(app, "harvest", "HNM")
    assert code == 0 and report["sources"][0]["skipped"] == 1
    assert records(app, "HNM") == titles([1, 2, 3, 5, 6, 7, 8, 9])
    with app.app_context():
        session = app.extensions["libext"].db.session
        log = session.scalar(select(HarvestRun.problems))
        app.extensions["libext"].db.engine.dispose()
    assert log == (
        "oai:test:4: record rec4: field 500 is 13,505 bytes; ISO 2709 allows at most 9,999"
    )


def _stop_full_harvest_after_page_one(app, server) -> None:
    """A --full harvest whose second page keeps failing: it stops, page 1 committed."""
    server.add_fault(srv.status(500, "p2", times=100))
    code, report = cli(app, "harvest", "HNM", "--full")
    assert code == 1 and report["sources"][0]["pages"] == 1
    server.faults.clear()


def test_full_harvest_stopped_part_way_is_swept_by_the_run_that_finishes_it(app):
    """The list a --full run began is finished by a plain run going on from its token: that
    run sweeps, knowing every record the whole list named (kept with each page)."""
    with srv.OAIServer(srv.generated_feed(6, 2)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        cli(app, "harvest", "HNM")
        server.feed.pages = srv.generated_feed(6, 2, omit=[2, 5]).pages  # 1 3 | 4 6
        _stop_full_harvest_after_page_one(app, server)
        assert records(app, "HNM") == titles(range(1, 7))  # nothing swept yet
        code, report = cli(app, "harvest", "HNM")  # goes on from the saved token
    assert code == 0 and report["sources"][0]["deleted"] == 2
    assert records(app, "HNM") == titles([1, 3, 4, 6]) | {
        "oai:test:2": ("Sách thử số 2", True),
        "oai:test:5": ("Sách thử số 5", True),
    }
    with app.app_context():
        session = app.extensions["libext"].db.session
        assert session.scalar(select(HarvestSource.full_list)) is False
        assert session.scalars(select(HarvestSeen)).all() == []


def test_a_full_list_given_up_sweeps_nothing_until_the_next_full_harvest(app):
    """When the token of an unfinished --full list has expired, a plain run starts again from
    the high-water mark: that list does not name every record, so nothing may be swept."""
    with srv.OAIServer(srv.generated_feed(6, 2)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        cli(app, "harvest", "HNM")
        server.feed.pages = srv.generated_feed(6, 2, omit=[2, 5]).pages
        _stop_full_harvest_after_page_one(app, server)
        server.feed.expired.add("p2")
        server.feed.pages = srv.generated_feed(6, 6, omit=[2, 5]).pages  # one page from now
        code, report = cli(app, "harvest", "HNM")
        assert code == 0 and report["sources"][0]["deleted"] == 0
        assert records(app, "HNM") == titles(range(1, 7))
        with app.app_context():
            session = app.extensions["libext"].db.session
            run = session.scalars(select(HarvestRun).order_by(HarvestRun.id.desc())).first()
            assert "the --full list was given up" in run.problems
        code, report = cli(app, "harvest", "HNM", "--full")
    assert code == 0 and report["sources"][0]["deleted"] == 2


def _running_run(app, owner: str, heartbeat_age: float) -> int:
    """A run of HNM's source marked running by ``owner``, its last page that many seconds ago."""
    from datetime import timedelta

    from libext.models import utcnow

    with app.app_context():
        session = app.extensions["libext"].db.session
        source = session.scalar(select(HarvestSource))
        run = HarvestRun(
            source_id=source.id,
            status="running",
            problems="",
            owner=owner,
            heartbeat=utcnow() - timedelta(seconds=heartbeat_age),
        )
        session.add(run)
        session.commit()
        return run.id


def _run_status(app, run_id: int) -> str:
    with app.app_context():
        return app.extensions["libext"].db.session.get(HarvestRun, run_id).status


def test_overlapping_runs_of_one_source_are_refused(app):
    """A second harvest of a source whose run is live (this machine's process exists, or
    another machine's run wrote a page lately) stops before any request and says why; a run
    whose process is dead, or gone silent elsewhere, is closed and the harvest goes on."""
    import socket
    import subprocess

    host = socket.gethostname()[:100]
    with srv.OAIServer(srv.generated_feed(4, 2)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
        asked = len(server.log)
        with subprocess.Popen(["sleep", "60"]) as alive:
            live = _running_run(app, f"{host}:{alive.pid}", 0)
            code, report = cli(app, "harvest", "HNM")
            alive.kill()
        assert code == 1
        (entry,) = report["sources"]
        assert entry["status"] == "failed" and entry["pages"] == 0
        assert f"another harvest of this source is running (run {live}" in entry["error"]
        assert len(server.log) == asked  # nothing was requested
        assert _run_status(app, live) == "running"
        # Its process has gone (killed, reaped): the run is closed, the harvest proceeds.
        code, report = cli(app, "harvest", "HNM")
        assert code == 0 and report["sources"][0]["added"] == 4
        assert _run_status(app, live) == "interrupted"
        # Another machine's run: live while its heartbeat is fresh, dead when stale.
        remote = _running_run(app, "district-server:1234", 60)
        code, report = cli(app, "harvest", "HNM")
        assert code == 1 and "another harvest" in report["sources"][0]["error"]
        app.config["LIBEXT_HARVEST_STALE_AFTER"] = 30
        code, report = cli(app, "harvest", "HNM")
        assert code == 0 and report["sources"][0]["status"] == "ok"
        assert _run_status(app, remote) == "interrupted"
    # The log: the two dead runs closed, the two harvests that ran; refusals start no run.
    with app.app_context():
        session = app.extensions["libext"].db.session
        statuses = [r.status for r in session.scalars(select(HarvestRun).order_by(HarvestRun.id))]
    assert statuses == ["interrupted", "ok", "interrupted", "ok"]


def test_one_running_run_per_source_is_enforced_by_the_database(app):
    from sqlalchemy.exc import IntegrityError

    with srv.OAIServer(srv.generated_feed(2, 2)) as server:
        cli(app, "source", "add", "HNM", "--url", server.url)
    _running_run(app, "a:1", 0)
    with pytest.raises(IntegrityError):
        _running_run(app, "b:2", 0)


def test_page_writes_cap_the_sqlite_page_cache_and_give_it_back(app):
    """As an import: each page's transaction caps the search's large page cache (which a
    long harvest would fill with written pages), and gives it back before committing."""
    from libext.db import BULK_SQLITE_CACHE_MB

    state = app.extensions["libext"]
    seen: list[int] = []

    def cache_size(session) -> int:
        return int(session.connection().exec_driver_sql("PRAGMA cache_size").scalar())

    def hook(session, changed, deleted) -> None:
        sqlite = session.get_bind().dialect.name == "sqlite"
        seen.append(cache_size(session) if sqlite else 0)

    with srv.OAIServer(srv.generated_feed(6, 3)) as server:
        assert cli(app, "source", "add", "HNM", "--url", server.url)[0] == 0
        state.after_write.append(hook)
        try:
            code, report = cli(app, "harvest", "HNM")
        finally:
            state.after_write.remove(hook)
    assert code == 0 and report["sources"][0]["added"] == 6
    with app.app_context():
        session = state.db.session
        if session.get_bind().dialect.name != "sqlite":
            assert len(seen) == 2  # PostgreSQL has no such cache to cap
            return
        after = cache_size(session)
    assert seen == [-BULK_SQLITE_CACHE_MB * 1024] * 2
    assert after == -app.config["LIBEXT_SEARCH_SQLITE_CACHE_MB"] * 1024
