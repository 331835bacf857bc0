"""A harvest killed with SIGKILL resumes from its last committed page (SQLite and PostgreSQL).

The harvest runs as a real ``flask libext harvest`` process on the standalone app; the test
kills it with ``kill -9`` once a few pages are in, then runs the harvest again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tests.harvest import oai_server as srv
from tests.harvest.conftest import cli, records

REPO = Path(__file__).resolve().parents[2]
PAGE = 4
COUNT = 40


def saved_token(db_url: str) -> str | None:
    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        token = conn.execute(sa.text("SELECT resumption_token FROM libext_harvest_source")).scalar()
    engine.dispose()
    return token


def test_kill_9_resumes_from_the_last_committed_page(app, db_url):
    feed = srv.generated_feed(COUNT, PAGE)
    # Every page after the first is slow, so the process is surely killed mid-harvest.
    slow_pages = [srv.slow(0.4, f"p{n}") for n in range(2, COUNT // PAGE + 1)]
    with srv.OAIServer(feed, slow_pages) as server:
        assert cli(app, "source", "add", "HNM", "--url", server.url)[0] == 0
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "SECRET_KEY": "kill-test",
            "LIBEXT_HARVEST_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "libext", "harvest", "HNM"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while saved_token(db_url) not in ("p4", "p5", "p6"):
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "the harvest did not get going"
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
            process.stderr.close()
        assert process.returncode == -signal.SIGKILL
        token = saved_token(db_url)
        committed = (int(token[1:]) - 1) * PAGE
        assert 12 <= committed < COUNT
        # Exactly the pages before the saved token are stored: nothing lost, nothing extra.
        assert set(records(app, "HNM")) == {f"oai:test:{n}" for n in range(1, committed + 1)}
        requests_before = len(server.log)
        code, report = cli(app, "harvest", "HNM")
        resumed_with = server.log[requests_before]
    assert code == 0, report
    assert resumed_with == {"verb": "ListRecords", "resumptionToken": token}
    assert report["sources"][0]["added"] == COUNT - committed
    final = records(app, "HNM")
    assert final == {f"oai:test:{n}": (f"Sách thử số {n}", False) for n in range(1, COUNT + 1)}
    engine = sa.create_engine(db_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        runs = conn.execute(
            sa.text("SELECT status, resumed FROM libext_harvest_run ORDER BY id")
        ).all()
        rows = conn.execute(sa.text("SELECT count(*) FROM libext_record")).scalar()
    engine.dispose()
    assert [tuple(r) for r in runs] == [("interrupted", False), ("ok", True)]
    assert rows == COUNT  # no duplicates
