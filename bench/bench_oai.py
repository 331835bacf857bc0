"""OAI-PMH provider: a full sickle harvest of 100,000 records over loopback.

Figure: sickle harvests ``ListRecords`` (marc21, 100 records per page) from the real endpoint
on a werkzeug server on 127.0.0.1, over a SQLite store of 100,000 records with a holding
each (1 % deleted). Baseline: the same sickle client, in the same run, harvesting the very
same response bytes served as static files by the same kind of server (one file per page,
looked up by resumption token). Reported: records/s of both and their ratio (target: the
dynamic harvest within 3x of the static one's time), and the page latency p50/p95 of both.
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
from typing import Any
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

    def __init__(self, *args: Any, keep: Path | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self.keep = keep
        self.tokens: list[str | None] = []

    def harvest(self, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = super().harvest(**kwargs)
        self.latencies.append(time.perf_counter() - started)
        if self.keep is not None:
            index = len(self.tokens)
            self.tokens.append(kwargs.get("resumptionToken"))
            (self.keep / f"page{index:05d}.xml").write_bytes(response.http_response.content)
        return response


def harvest(client: TimedSickle) -> tuple[int, float]:
    """All records of a ListRecords marc21 harvest; (count, seconds)."""
    started = time.perf_counter()
    count = sum(1 for _ in client.ListRecords(metadataPrefix="marc21", ignore_deleted=False))
    return count, time.perf_counter() - started


def static_app(pages: Path, tokens: list[str | None]) -> Callable[..., Any]:
    """A static file server for the saved pages: the token says which file to send."""
    index = {token: pages / f"page{i:05d}.xml" for i, token in enumerate(tokens)}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        token = query.get("resumptionToken", [None])[0]
        body = index[token].read_bytes()
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    n = scaled(100_000)
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
            LIBEXT_OAI_PAGE_SIZE=100,
        )
        LibExt(app)
        with serve(app) as url:
            dynamic = TimedSickle(f"{url}/oai", keep=pages, max_retries=0)
            got, dynamic_s = harvest(dynamic)
        assert got == n, f"dynamic harvest got {got} of {n} records"
        with app.app_context():
            app.extensions["libext"].db.engine.dispose()

        with serve(static_app(pages, dynamic.tokens)) as url:
            static = TimedSickle(f"{url}/oai", max_retries=0)
            got, static_s = harvest(static)
        assert got == n, f"static harvest got {got} of {n} records"

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
    print(
        f"records: {n:,}; pages: {len(dynamic.latencies)}; harvest {dynamic_s:.1f} s vs "
        f"static {static_s:.1f} s; peak RSS {peak_rss_mb():.0f} MB"
    )
