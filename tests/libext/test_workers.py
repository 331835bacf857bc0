"""Reading in worker processes gives the writer exactly what reading in-process gives it.

Imports and harvests hand the CPU-heavy half of the work (decoding, validating, normalising,
extracting) to :func:`libext.workers.ordered_map`. These tests run the same input both ways,
on real worker processes, and compare reports and stored records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree
from sqlalchemy import select

from libext.importer import ImportOptions, run_import
from libext.models import HarvestRun, Library
from libext.workers import BULK_GC_THRESHOLD, WorkerFailed, bulk_gc, ordered_map, worker_count
from marc.writer import record_to_xml_element
from tests.conftest import make_app
from tests.harvest import oai_server as srv
from tests.harvest.conftest import STORE_CONFIG, cli, records
from tests.libext.marc_files import many, write_iso


def square(n: int) -> int:
    """Module-level, so a worker process can find it by name."""
    if n == 13:
        raise ValueError("thirteen is refused")
    return n * n


@pytest.mark.parametrize("inline_first", [0, 1, 5])
def test_ordered_map_keeps_the_order_of_a_plain_map(inline_first: int) -> None:
    items = [n for n in range(40) if n != 13]
    assert list(ordered_map(square, items, 2, inline_first=inline_first)) == [n * n for n in items]


def test_ordered_map_raises_the_workers_error_at_its_item() -> None:
    seen = []
    with pytest.raises(ValueError, match="thirteen is refused"):
        for value in ordered_map(square, range(20), 2, inline_first=0):
            seen.append(value)
    assert seen == [n * n for n in range(13)]


def die_at_three(n: int) -> int:
    """Module-level: a worker that is killed while reading item 3."""
    if n == 3:
        os._exit(9)
    return n


def test_a_worker_killed_mid_way_is_a_clear_error_after_the_items_before() -> None:
    seen = []
    with pytest.raises(WorkerFailed, match="running the import again"):
        for value in ordered_map(die_at_three, range(10), 2, inline_first=0):
            seen.append(value)
    assert seen == [0, 1, 2][: len(seen)]  # nothing out of order, nothing after the failure


def test_an_error_of_the_input_comes_after_the_results_before_it() -> None:
    """As in a plain loop: a file that turns unreadable part-way still gets its earlier
    records written before the error is raised."""

    def items():
        yield from range(5)
        raise ValueError("the file ends here")

    seen = []
    with pytest.raises(ValueError, match="the file ends here"):
        for value in ordered_map(square, items(), 2, inline_first=0):
            seen.append(value)
    assert seen == [0, 1, 4, 9, 16]


def test_workers_start_while_the_first_items_are_read_here_and_are_let_go_of() -> None:
    """The pool starts in the background during the items done in the calling process; a
    caller that stops there (an error, a closed iterator) still leaves no pool behind."""
    from libext import workers

    mapped = ordered_map(square, range(10), 2, inline_first=2)
    assert [next(mapped), next(mapped)] == [0, 1]
    mapped.close()
    assert workers._pools == {}
    assert list(ordered_map(square, range(10), 2, inline_first=2)) == [n * n for n in range(10)]
    assert workers._pools == {}


def test_an_input_error_among_the_first_items_comes_after_them() -> None:
    def items():
        yield 2
        raise ValueError("the file ends here")

    seen = []
    with pytest.raises(ValueError, match="the file ends here"):
        for value in ordered_map(square, items(), 2, inline_first=1):
            seen.append(value)
    assert seen == [4]


def _use_workers_then_return() -> None:
    assert sum(ordered_map(square, range(10), 2, inline_first=0)) == 285


def test_no_idle_worker_outlives_its_job() -> None:
    """A process that used workers can exit: a multiprocessing child (as in the benches)
    joins every child process on its way out, and idle workers would wait for ever."""
    import multiprocessing

    # spawn: a fork of this process would inherit its fork server, which only the process
    # that started it may use
    child = multiprocessing.get_context("spawn").Process(target=_use_workers_then_return)
    child.start()
    child.join(timeout=60)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0


def gc_threshold(_n: int) -> int:
    """The youngest generation's collection threshold where this runs."""
    import gc

    return gc.get_threshold()[0]


@pytest.mark.parametrize("workers", [0, 2])
def test_garbage_is_collected_less_often_while_a_bulk_load_runs(workers: int) -> None:
    """During a bulk load the collector waits for many more allocations, in the workers and
    in the caller (which writes between results); the usual threshold comes back after it,
    also after two loads that overlap, and after one that fails."""
    import gc

    usual = gc.get_threshold()
    assert usual[0] < BULK_GC_THRESHOLD
    seen_here = []
    for threshold in ordered_map(gc_threshold, range(6), workers):
        assert threshold >= BULK_GC_THRESHOLD  # the worker's, or this process's (workers=0)
        seen_here.append(gc.get_threshold()[0])
    assert seen_here and min(seen_here) >= BULK_GC_THRESHOLD
    assert gc.get_threshold() == usual
    first = bulk_gc()
    first.__enter__()
    with bulk_gc():
        pass
    assert gc.get_threshold()[0] >= BULK_GC_THRESHOLD  # the first load still runs
    first.__exit__(None, None, None)
    assert gc.get_threshold() == usual
    with pytest.raises(ValueError, match="thirteen"):
        list(ordered_map(square, [12, 13, 14], workers))
    assert gc.get_threshold() == usual


def test_worker_count_follows_the_setting() -> None:
    assert worker_count(0) == 0
    assert worker_count(3) == 3
    assert worker_count(None) in (0, *range(2, 1025))  # one per core, none on one core


def _broken_iso(path: Path) -> Path:
    """300 good records with two broken ones in between, and text that is no record."""
    good = write_iso(path.with_suffix(".good"), many(300)).read_bytes().split(b"\x1d")[:-1]
    pieces = [p + b"\x1d" for p in good]
    pieces.insert(50, b"00099nam a2200037 a 4500\x1e\x1d")  # directory cut short
    pieces.insert(120, pieces[119].replace(b"Vi\xe1\xbb\x87t", b"Vi\xe1\xbb"))  # bad UTF-8
    # No record at all (no field in it): skipped with a warning on the record before it.
    pieces.insert(200, b"garbage that is no record\x1d")
    path.write_bytes(b"".join(pieces))
    return path


def _marcxml(path: Path) -> Path:
    elements = [etree.tostring(record_to_xml_element(r)) for r in many(200)]
    elements[70] = b'<record xmlns="http://www.loc.gov/MARC21/slim"><datafield tag="245"/></record>'
    path.write_bytes(
        b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
        + b"\n".join(elements)
        + b"\n</collection>\n"
    )
    return path


def _import(db_url: str, path: Path, workers: int) -> tuple[dict, list[tuple]]:
    app = make_app(db_url)
    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        library = Library(code="HNM", name="Hà Nam")
        session.add(library)
        session.commit()
        report = run_import(
            state.store(), library, path, ImportOptions(batch_size=40, workers=workers)
        ).to_dict()
        rows = session.execute(
            sa.text(
                "SELECT r.local_id, r.marc, r.title, r.isbns, h.barcode FROM libext_record r "
                "LEFT JOIN libext_holding h ON h.record_id = r.id ORDER BY r.local_id"
            )
        ).all()
        outcomes = session.execute(
            sa.text(
                "SELECT ordinal, action, reason, control_number, title FROM libext_import_outcome "
                "ORDER BY ordinal"
            )
        ).all()
        state.db.engine.dispose()
    report.pop("batch")
    report["outcomes"] = [tuple(o) for o in outcomes]
    return report, [tuple(r) for r in rows]


@pytest.mark.parametrize("fmt", ["iso2709", "marcxml"])
def test_import_in_workers_equals_import_in_process(
    request: pytest.FixtureRequest, tmp_path: Path, fmt: str
) -> None:
    path = _broken_iso(tmp_path / "in.mrc") if fmt == "iso2709" else _marcxml(tmp_path / "in.xml")
    template: Path = request.getfixturevalue("sqlite_template")
    urls = []
    for name in ("here", "workers"):
        target = tmp_path / f"{name}.sqlite3"
        target.write_bytes(template.read_bytes())
        urls.append(f"sqlite:///{target}")
    here, here_rows = _import(urls[0], path, workers=0)
    there, there_rows = _import(urls[1], path, workers=2)
    assert there == here
    assert there_rows == here_rows
    rejected = 2 if fmt == "iso2709" else 1
    assert (here["read"], here["created"], here["rejected"]) == (
        300 + rejected if fmt == "iso2709" else 200,
        300 if fmt == "iso2709" else 199,
        rejected,
    )
    assert json.dumps(here["errors"], ensure_ascii=False)  # reasons survive the trip
    if fmt == "iso2709":
        (skipped,) = [w for w in here["record_warnings"] if "not MARC data" in str(w)]
        assert skipped["ordinal"] == 200  # the record just before the text


def test_harvest_in_workers_stores_what_reading_in_process_stores(db_url: str) -> None:
    bad = {7: "<record xmlns='http://www.loc.gov/MARC21/slim'><datafield tag='245'/></record>"}
    feed = srv.generated_feed(40, 6, deleted=[3], record=lambda n: bad.get(n) or srv.marc_record(n))
    reports, stored = [], []
    for workers in (0, 2):
        app = make_app(db_url, **{**STORE_CONFIG, "LIBEXT_WORKER_PROCESSES": workers})
        code = f"W{workers}"
        with srv.OAIServer(feed) as server:
            assert cli(app, "source", "add", code, "--url", server.url)[0] == 0
            exit_code, report = cli(app, "harvest", code)
        assert exit_code == 0
        entry = report["sources"][0]
        entry.pop("source")
        with app.app_context():
            session = app.extensions["libext"].db.session
            entry["log"] = session.scalar(
                select(HarvestRun.problems).order_by(HarvestRun.id.desc()).limit(1)
            )
        reports.append(entry)
        stored.append(records(app, code))
        with app.app_context():
            app.extensions["libext"].db.engine.dispose()
    assert reports[1] == reports[0]
    assert reports[0]["pages"] == 7 and reports[0]["skipped"] == 1
    assert reports[0]["log"] == "oai:test:7: MARCXML record has no leader"
    assert stored[1] == stored[0]
    assert len(stored[0]) == 38  # 40 less the broken record and the deletion never stored


def test_match_keys_from_extracted_data_equal_keys_read_afresh() -> None:
    """The importer's workers take control numbers and ISBNs from the extracted data."""
    from libext.matching import keys_of
    from marc.extract import extract
    from tests.marc.helpers import shared_records

    records = shared_records()
    assert len(records) > 100
    for record in records:
        assert keys_of(record, extract(record, full=False)) == keys_of(record)
