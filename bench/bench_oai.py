"""OAI-PMH provider: a full sickle harvest of 100,000 records over loopback.

Figure: sickle harvests ``ListRecords`` (marc21, 100 records per page) from the real endpoint
on a werkzeug server on 127.0.0.1, over a SQLite store of 100,000 records with a holding
each (1 % deleted). Baseline: the same sickle client, in the same run, harvesting the very
same response bytes served as static files by the same kind of server (one file per page,
looked up by resumption token). The two harvests run interleaved, a page of each
in turn, so both see the same machine load. Reported: records/s of both and their ratio
(target: the dynamic harvest within 3x of the static one's time), the page latency p50/p95
of both, and how much of the server's time went into reading the store through the seam.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pymarc
import sqlalchemy as sa
from flask import Flask
from sickle import Sickle
from werkzeug.serving import make_server

from bench.common import peak_rss_mb, percentile, report, scaled
from libext import LibExt
from libext.migrate import upgrade
from libext.models import Holding, Library, Record
from libext.seam import StoreRecordSource

START = datetime(2024, 1, 1)


def marc_bytes(i: int, code: str) -> bytes:
    """A realistic small Vietnamese book record, as stored (UTF-8 ISO 2709)."""
    rec = pymarc.Record(force_utf8=True, leader="00000nam a2200000 i 4500")
    rec.add_field(
        pymarc.Field(tag="001", data=f"{code}{i:07d}"),
        pymarc.Field(tag="003", data=code),
        pymarc.Field(tag="008", data=f"200101s{1990 + i % 30}    vm a          000 1 vie d"),
        pymarc.Field(tag="020", indicators=[" ", " "], subfields=[
            pymarc.Subfield("a", f"978604{i:07d}")]),
        pymarc.Field(tag="100", indicators=["1", " "], subfields=[
            pymarc.Subfield("a", f"Nguyễn, Văn {i % 97},"), pymarc.Subfield("d", "1950-")]),
        pymarc.Field(tag="245", indicators=["1", "0"], subfields=[
            pymarc.Subfield("a", f"Lịch sử làng quê số {i} :"),
            pymarc.Subfield("b", "khảo cứu địa phương /"),
            pymarc.Subfield("c", f"Nguyễn Văn {i % 97}.")]),
        pymarc.Field(tag="264", indicators=[" ", "1"], subfields=[
            pymarc.Subfield("a", "Hà Nội :"), pymarc.Subfield("b", "Khoa học xã hội,"),
            pymarc.Subfield("c", f"{1990 + i % 30}.")]),
        pymarc.Field(tag="300", indicators=[" ", " "], subfields=[
            pymarc.Subfield("a", "245 tr. ;"), pymarc.Subfield("c", "21 cm.")]),
        pymarc.Field(tag="650", indicators=[" ", "7"], subfields=[
            pymarc.Subfield("a", "Lịch sử"), pymarc.Subfield("z", "Hà Nam"),
            pymarc.Subfield("2", "Bộ TK TVQG")]),
        pymarc.Field(tag="852", indicators=[" ", " "], subfields=[
            pymarc.Subfield("a", code), pymarc.Subfield("h", "959.7 NG-V"),
            pymarc.Subfield("p", f"{code}{i:07d}")]),
    )  # fmt: skip
    return rec.as_marc()


def build_store(path: Path, n: int) -> None:
    """``n`` records in a fresh SQLite store, written with Core inserts (fast set-up)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Library.__table__),
            [
                {"id": 1, "code": "HNM", "name": "Thư viện tỉnh Hà Nam", "created": START},
                {"id": 2, "code": "DDA", "name": "Thư viện huyện Duy Tiên", "created": START},
            ],
        )
        batch: list[dict[str, Any]] = []
        holdings: list[dict[str, Any]] = []
        for i in range(1, n + 1):
            library_id, code = (1, "HNM") if i % 2 else (2, "DDA")
            batch.append(
                {
                    "id": i,
                    "library_id": library_id,
                    "local_id": f"{code}{i:07d}",
                    "marc": marc_bytes(i, code),
                    "leader": "00000nam a2200000 i 4500",
                    "control_number": f"{code}{i:07d}",
                    "title": f"Lịch sử làng quê số {i}",
                    "material_type": "am",
                    "language": "vie",
                    "datestamp": START + timedelta(milliseconds=i * 37),
                    "created": START,
                    "deleted": i % 100 == 0,
                }
            )
            holdings.append(
                {
                    "record_id": i,
                    "library_id": library_id,
                    "call_number": "959.7 NG-V",
                    "barcode": f"{code}{i:07d}",
                    "location": "Kho mở",
                    "status": "available",
                }
            )
            if len(batch) == 5000 or i == n:
                conn.execute(sa.insert(Record.__table__), batch)
                conn.execute(sa.insert(Holding.__table__), holdings)
                batch, holdings = [], []
    engine.dispose()


@contextmanager
def serve(app: Callable[..., Any]) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port (threaded, like the tests)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


class TimedSickle(Sickle):
    """Sickle that times each HTTP exchange and can keep each page's bytes."""

    def __init__(self, *args: Any, pages: dict[str | None, bytes] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.latencies: list[float] = []
        self.pages = pages

    def harvest(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = super().harvest(**kwargs)
        self.latencies.append(time.perf_counter() - started)
        if self.pages is not None:
            self.pages[kwargs.get("resumptionToken")] = response.http_response.content
        return response


class TimedSource:
    """The store's record source, timing its ``list`` calls (the seam's share of a page)."""

    spent: ClassVar[list[float]] = []

    def __init__(self, source: StoreRecordSource) -> None:
        self._source = source

    def list(self, query: Any, limit: int) -> Any:
        started = time.perf_counter()
        try:
            return self._source.list(query, limit)
        finally:
            TimedSource.spent.append(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


def static_app(pages_dir: Path, names: dict[str | None, str]) -> Callable[..., Any]:
    """A static file server for the saved pages: the token says which file to send."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        token = query.get("resumptionToken", [None])[0]
        body = (pages_dir / names[token]).read_bytes()
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


def lockstep(
    dynamic: TimedSickle,
    static: TimedSickle,
    pages_dir: Path,
    names: dict[str | None, str],
    page: int,
) -> tuple[list[int], list[float]]:
    """Both harvests of ListRecords marc21, a page of records from each in turn.

    Interleaving page by page means both see the same machine load, whatever else runs on
    it. Each page the dynamic harvest receives is written to a file (``names`` maps its
    resumption token to it) before the static harvest asks for it. Returns the records and
    seconds of each harvest.
    """
    saved: dict[str | None, bytes] = {}
    dynamic.pages = saved

    def keep() -> None:  # files written outside the timing
        for token, body in list(saved.items()):
            names[token] = f"page{len(names):05d}.xml"
            (pages_dir / names[token]).write_bytes(body)
            del saved[token]

    counts, seconds, done = [0, 0], [0.0, 0.0], [False, False]
    # sickle fetches the first page when the iterator is made: the dynamic one first.
    started = time.perf_counter()
    dynamic_items = dynamic.ListRecords(metadataPrefix="marc21", ignore_deleted=False)
    seconds[0] += time.perf_counter() - started
    keep()
    started = time.perf_counter()
    static_items = static.ListRecords(metadataPrefix="marc21", ignore_deleted=False)
    seconds[1] += time.perf_counter() - started
    while not all(done):
        for side, iterator in enumerate((dynamic_items, static_items)):
            started = time.perf_counter()
            for _ in range(page):
                if done[side] or next(iterator, None) is None:
                    done[side] = True
                    break
                counts[side] += 1
            seconds[side] += time.perf_counter() - started
            keep()
    return counts, seconds


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    n = scaled(100_000)
    page = 100
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "oai.sqlite3"
        pages = Path(tmp) / "pages"
        pages.mkdir()
        set_up = time.perf_counter()
        build_store(db_path, n)
        print(f"store of {n:,} records built in {time.perf_counter() - set_up:.1f} s", flush=True)

        app = Flask("bench_oai")
        app.config.update(
            SECRET_KEY="bench",
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}",
            LIBEXT_OAI_PAGE_SIZE=page,
            # The same bytes on the wire as the static baseline: on loopback, gzip would only
            # add CPU on both ends (it is on by default, for slow links).
            LIBEXT_OAI_COMPRESSION=False,
        )
        LibExt(
            app,
            record_source=lambda: TimedSource(
                StoreRecordSource(app.extensions["libext"].db.session)
            ),
        )
        names: dict[str | None, str] = {}
        with serve(app) as url, serve(static_app(pages, names)) as static_url:
            dynamic = TimedSickle(f"{url}/oai", max_retries=0)
            static = TimedSickle(f"{static_url}/oai", max_retries=0)
            (got, got_static), (dynamic_s, static_s) = lockstep(dynamic, static, pages, names, page)
        assert got == got_static == n, f"harvests got {got} and {got_static} of {n} records"
        with app.app_context():
            app.extensions["libext"].db.engine.dispose()

    report(
        "sickle full harvest, /oai (SQLite)",
        n / dynamic_s,
        "records/s",
        "same bytes as static files",
        n / static_s,
        target=1 / 3,
    )
    for pct in (50, 95):
        report(
            f"ListRecords page latency p{pct}",
            percentile(dynamic.latencies, pct) * 1000,
            "ms",
            "static page",
            percentile(static.latencies, pct) * 1000,
            higher_is_better=False,
        )
    seam = sum(TimedSource.spent)
    server = sum(dynamic.latencies) - sum(static.latencies)
    print(
        f"records: {n:,}; pages: {len(dynamic.latencies)}; harvest {dynamic_s:.1f} s vs "
        f"static {static_s:.1f} s; of the extra server time, reading the store through the "
        f"seam (query + MARC parsing) took {seam:.1f} s of {server:.1f} s; "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )
