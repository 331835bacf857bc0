"""``kill -9`` in the middle of an import: the rerun finishes the batch and the store ends
up exactly as after a clean import (no duplicates, no record without its outcome)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.common import descendants
from libext.migrate import upgrade
from tests.conftest import _new_pg_database
from tests.libext.marc_files import many, write_iso
from tests.paths import REPO_ROOT

RECORDS = 2500


def _flask(db_url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEY": "crash-test",
        "PYTHONPATH": str(REPO_ROOT),
        "LIBEXT_WORKER_PROCESSES": "2",  # read in worker processes, as on a multi-core server
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "libext", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _state(db_url: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        records = conn.execute(
            sa.text("SELECT local_id, marc, deleted FROM libext_record ORDER BY local_id")
        ).all()
        holdings = conn.execute(
            sa.text(
                "SELECT r.local_id, h.barcode FROM libext_holding h "
                "JOIN libext_record r ON r.id = h.record_id ORDER BY r.local_id, h.barcode"
            )
        ).all()
        batches = conn.execute(
            sa.text("SELECT status, read, last_ordinal FROM libext_import_batch ORDER BY id")
        ).all()
    engine.dispose()
    return [tuple(r) for r in records], [tuple(h) for h in holdings], [tuple(b) for b in batches]


def _committed(db_url: str) -> int:
    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            value = conn.execute(
                sa.text("SELECT max(last_ordinal) FROM libext_import_batch")
            ).scalar()
    except sa.exc.OperationalError:
        value = 0
    finally:
        engine.dispose()
    return int(value or 0)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _database(request: pytest.FixtureRequest, tmp_path: Path, kind: str, name: str) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        upgrade(engine)
        engine.dispose()
        return url
    return _new_pg_database(request, "libext_template")


@pytest.mark.slow
@pytest.mark.timeout(1200)  # three imports in subprocesses, search index included
@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_kill_9_then_rerun_equals_a_clean_import(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    path = write_iso(tmp_path / "big.mrc", many(RECORDS))
    crashed = _database(request, tmp_path, kind, "crashed")
    clean = _database(request, tmp_path, kind, "clean")
    for url in (crashed, clean):
        done = _flask(url, "library", "add", "HNM", "--name", "Hà Nam")
        assert done.wait(60) == 0, done.stderr.read()
    args = ("import", str(path), "--library", "HNM", "--batch-size", "100", "--json")

    victim = _flask(crashed, *args)
    deadline = time.monotonic() + 120
    while _committed(crashed) < 300:
        assert victim.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline, "no batch committed within two minutes"
        time.sleep(0.05)
    helpers = descendants(victim.pid)
    assert helpers, "the command-line import reads in worker processes"
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    # The reading workers notice that their import is gone and exit on their own.
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in helpers if _alive(pid)], "worker processes outlived the import"
    interrupted = _committed(crashed)
    assert 0 < interrupted < RECORDS
    records, _, batches = _state(crashed)
    # every committed chunk is whole: records and outcomes up to last_ordinal, nothing after
    assert len(records) == interrupted
    assert batches == [("running", interrupted, interrupted)]

    rerun = _flask(crashed, *args)
    assert rerun.wait(600) == 0, rerun.stderr.read()
    reference = _flask(clean, *args)
    assert reference.wait(600) == 0, reference.stderr.read()

    after, after_holdings, after_batches = _state(crashed)
    expected, expected_holdings, _ = _state(clean)
    assert len(after) == RECORDS
    assert after == expected
    assert after_holdings == expected_holdings
    assert after_batches == [("done", RECORDS, RECORDS)]  # the same batch, resumed
