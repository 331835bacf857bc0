"""Searches under load: 20 concurrent searchers for 60 s while a 100,000-record import runs.

Everything runs as in production, on loopback: the standalone app under gunicorn (gthread
workers, as many as gunicorn advises — 2 × cores + 1 — with 4 threads each) on a SQLite
database in WAL mode holding the demo network;
the import is ``flask libext import`` of a generated ISO 2709 file of Vietnamese and English
records, in its own process, writing batches through the store (and so the search index) while
the searchers read. Each searcher loops over a mix of requests — the search page and
``/api/search`` with known-item, broad, fielded and diacritic-less queries, facet filters and
later pages — and records the latency of every answer; anything but HTTP 200 is an error.

Figures, beside the baseline measured in the same run (the same searchers on the same server
for ``BENCH_LOAD_BASELINE_SECONDS`` before the import starts):

* requests/s, p50 and p95 latency, errors; targets: zero errors and p95 under 250 ms;
* the import's own rate while searched (records/s), and whether it was still running for the
  whole measured window.

The import is stopped when the window ends (it would go on for minutes; an interrupted import
resumes where it stopped); its figure is the records it wrote during the window.

``BENCH_LOAD_SECONDS`` (default 60), ``BENCH_LOAD_SEARCHERS`` (20), ``BENCH_LOAD_RECORDS``
(100000, times ``BENCH_SCALE``), ``BENCH_LOAD_THINK_MS`` (0: each searcher asks again as soon as
it is answered) change the run.
"""

from __future__ import annotations

import http.client
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pymarc
import requests

from bench.bench_search import (
    EN_WORDS,
    GIVEN,
    MIDDLE,
    PUBLISHERS,
    SUBJECTS,
    SURNAMES,
    VI_WORDS,
)
from bench.common import isbn13, percentile, report, scaled

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
P95_TARGET_MS = 250.0
#: gunicorn's own advice for the number of workers: (2 × cores) + 1.
WORKERS = 2 * (os.cpu_count() or 1) + 1
THREADS = 4


@dataclass
class Sample:
    """What the searchers saw over one window."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Answers per second."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def p(self, pct: float) -> float:
        """A latency percentile in milliseconds."""
        return percentile(self.latencies, pct) * 1000 if self.latencies else float("nan")


# --- data ---------------------------------------------------------------------------------------
def _title(rng: random.Random) -> str:
    words = VI_WORDS if rng.random() < 0.8 else EN_WORDS
    return " ".join(rng.choice(words) for _ in range(rng.randint(2, 9))).capitalize()


def write_records(path: Path, count: int, seed: int = 7) -> None:
    """``count`` generated ISO 2709 records of the provincial library, UTF-8."""
    rng = random.Random(seed)
    with path.open("wb") as out:
        for n in range(1, count + 1):
            record = pymarc.Record(force_utf8=True, leader="     nam a22     7a 4500")
            author = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            year = rng.randint(1960, 2025)
            isbn = isbn13(f"978604{n:06d}")
            record.add_field(
                pymarc.Field(tag="001", data=f"LOAD{n:07d}"),
                pymarc.Field(tag="008", data=f"250101s{year}    vm            000 0 vie d"),
                pymarc.Field(
                    tag="020", indicators=pymarc.Indicators(" ", " "),
                    subfields=[pymarc.Subfield("a", isbn)],
                ),
                pymarc.Field(
                    tag="100", indicators=pymarc.Indicators("0", " "),
                    subfields=[pymarc.Subfield("a", author)],
                ),
                pymarc.Field(
                    tag="245", indicators=pymarc.Indicators("1", "0"),
                    subfields=[pymarc.Subfield("a", _title(rng))],
                ),
                pymarc.Field(
                    tag="260", indicators=pymarc.Indicators(" ", " "),
                    subfields=[
                        pymarc.Subfield("a", "Hà Nội"),
                        pymarc.Subfield("b", rng.choice(PUBLISHERS)),
                        pymarc.Subfield("c", str(year)),
                    ],
                ),
                pymarc.Field(
                    tag="650", indicators=pymarc.Indicators(" ", "4"),
                    subfields=[pymarc.Subfield("a", rng.choice(SUBJECTS).split(" -- ")[0])],
                ),
                pymarc.Field(
                    tag="852", indicators=pymarc.Indicators(" ", " "),
                    subfields=[
                        pymarc.Subfield("a", "VN-HNM"),
                        pymarc.Subfield("j", f"HNM.{n:07d}"),
                    ],
                ),
            )  # fmt: skip
            out.write(record.as_marc())


def request_mix(seed: int) -> list[str]:
    """Paths a searcher cycles through: page and API, every kind of query."""
    rng = random.Random(seed)
    queries = [
        "truyện kiều",
        "truyen kieu",
        "nguyễn du",
        "lịch sử việt nam",
        "lich su viet nam",
        "author:nguyễn",
        "title:văn học",
        "year:1990-1999",
        "hà nội",
        "history",
        "kinh tế",
        "Đất nước",
        "dat nuoc",
        "tiểu thuyết",
        "thơ",
        "người",
    ]
    queries += [" ".join(rng.sample(VI_WORDS, 2)) for _ in range(20)]
    paths = []
    for q in queries:
        paths.append("/?" + urlencode({"q": q}))
        paths.append("/api/search?" + urlencode({"q": q}))
        paths.append("/api/search?" + urlencode({"q": q, "page": 2}))
        paths.append("/?" + urlencode({"q": q, "library": "HNM"}))
    rng.shuffle(paths)
    return paths


# --- processes ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "libext", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


@contextmanager
def server(env: dict[str, str]) -> Iterator[str]:
    """gunicorn serving the standalone app on a loopback port; yields its base URL."""
    port = _free_port()
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers", str(WORKERS),
            "--worker-class", "gthread",
            "--threads", str(THREADS),
            "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning",
            "wsgi:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/api/libraries", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def count_records(database: Path) -> int:
    """Records in the store now (read-only connection: WAL lets it read beside the import)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM libext_record").fetchone()[0]


def search_for(base: str, seconds: float, searchers: int, think: float = 0.0) -> Sample:
    """``searchers`` threads requesting the mix for ``seconds``; every answer's latency.

    With ``think`` 0 each searcher sends its next request as soon as the last is answered (a
    closed loop: the harshest reading of "20 concurrent searchers").
    """
    sample = Sample()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def searcher(index: int) -> None:
        # A bare keep-alive connection per searcher: the load generator shares the server's
        # two cores, so it must cost as little CPU as it can (requests costs several times
        # more per call than http.client).
        host, port = urlsplit(base).hostname, urlsplit(base).port
        connection = http.client.HTTPConnection(host or "127.0.0.1", port, timeout=30)
        paths = request_mix(index)
        i = 0
        latencies, errors = [], []
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            i += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    errors.append(f"{response.status} {path}")
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException) as exc:
                elapsed = time.perf_counter() - started
                errors.append(f"{type(exc).__name__} {path}")
                connection.close()
            latencies.append(elapsed)
            if think:
                time.sleep(think)
        connection.close()
        with lock:
            sample.latencies.extend(latencies)
            sample.errors.extend(errors)

    threads = [threading.Thread(target=searcher, args=(n,)) for n in range(searchers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sample.seconds = time.monotonic() - started
    return sample


def _print(label: str, sample: Sample) -> None:
    print(
        f"{label}: {len(sample.latencies):,} answers in {sample.seconds:.1f} s = "
        f"{sample.rate:,.1f} req/s, p50 {sample.p(50):.1f} ms, p95 {sample.p(95):.1f} ms, "
        f"max {max(sample.latencies, default=0) * 1000:.0f} ms, errors {len(sample.errors)}",
        flush=True,
    )
    if sample.errors:
        print("  first errors:", sample.errors[:5], flush=True)


def main() -> None:
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
    baseline_seconds = float(os.environ.get("BENCH_LOAD_BASELINE_SECONDS", "20"))
    searchers = int(os.environ.get("BENCH_LOAD_SEARCHERS", "20"))
    count = scaled(int(os.environ.get("BENCH_LOAD_RECORDS", "100000")))
    think = float(os.environ.get("BENCH_LOAD_THINK_MS", "0")) / 1000
    with tempfile.TemporaryDirectory(prefix="libext-load-") as tmp:
        folder = Path(tmp)
        database = folder / "libext.sqlite3"
        env = dict(
            os.environ,
            DATABASE_URL=f"sqlite:///{database}",
            SECRET_KEY="bench-load",
            PYTHONPATH=str(ROOT),
        )
        _flask(env, "init-db")
        _flask(env, "demo")
        marc_file = folder / "load.mrc"
        started = time.perf_counter()
        write_records(marc_file, count)
        print(
            f"generated {count:,} records ({marc_file.stat().st_size / 1e6:.1f} MB) in "
            f"{time.perf_counter() - started:.1f} s; {searchers} searchers, SQLite, gunicorn "
            f"{WORKERS} workers × {THREADS} threads",
            flush=True,
        )
        with server(env) as base:
            search_for(base, 3, searchers)  # warm up both workers and the page cache
            baseline = search_for(base, baseline_seconds, searchers, think)
            _print("baseline (no import)", baseline)
            import_started = time.perf_counter()
            importer = subprocess.Popen(
                [str(BIN / "flask"), "--app", "wsgi", "libext", "import", str(marc_file),
                 "--library", "HNM", "--json"],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            time.sleep(2)  # the import has opened the file and is writing its first batches
            before = count_records(database)
            loaded = search_for(base, seconds, searchers, think)
            during = count_records(database) - before
            running_throughout = importer.poll() is None
            _print("during the import", loaded)
            if running_throughout:
                # It would go on for minutes; the window is what was measured. An interrupted
                # import resumes where it stopped, so stopping it here is what a librarian may do.
                importer.terminate()
            out, err = importer.communicate()
            import_seconds = time.perf_counter() - import_started
        if not running_throughout and importer.returncode not in (0, 1):
            raise RuntimeError(f"import failed ({importer.returncode}): {err[-2000:]}")
        print(
            f"import: {during:,} records written during the {loaded.seconds:.0f} s window = "
            f"{during / loaded.seconds:,.0f} records/s while searched; running for the whole "
            f"window: {'yes' if running_throughout else 'NO (finished early)'}"
            + ("" if running_throughout else f"; finished in {import_seconds:.0f} s: {out[:200]}"),
            flush=True,
        )
    report("requests/s during import", loaded.rate, "req/s", "without import", baseline.rate)
    report(
        "p95 during import",
        loaded.p(95),
        "ms",
        "without import",
        baseline.p(95),
        higher_is_better=False,
    )
    met = not loaded.errors and loaded.p(95) < P95_TARGET_MS
    print(
        f"target: zero errors and p95 < {P95_TARGET_MS:.0f} ms: "
        f"{'met' if met else 'MISSED'} (errors {len(loaded.errors)}, p95 {loaded.p(95):.1f} ms)",
        flush=True,
    )


if __name__ == "__main__":
    main()
