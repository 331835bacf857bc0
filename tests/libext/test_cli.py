"""``flask libext`` commands: libraries, init-db, demo; JSON output and exit statuses."""

from __future__ import annotations

import json
import multiprocessing
import os
from typing import Any

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from libext.demo import LIBRARIES
from libext.models import Record


def test_library_add_and_list_json(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=[
            "libext",
            "library",
            "add",
            "HNM",
            "--name",
            "Thư viện tỉnh Hà Nam",
            "--isil",
            "VN-HNM",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["libext", "library", "list", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["libraries"] == [
        {
            "code": "HNM",
            "name": "Thư viện tỉnh Hà Nam",
            "isil": "VN-HNM",
            "oai_url": None,
            "oai_prefix": None,
            "oai_set": None,
            "records": 0,
        }
    ]


def test_library_add_refuses_bad_input_with_exit_2(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["libext", "library", "add", "a b", "--name", "X"]).exit_code == 2
    assert runner.invoke(args=["libext", "library", "add", "HNM", "--name", "X"]).exit_code == 0
    dup = runner.invoke(args=["libext", "library", "add", "HNM", "--name", "Y", "--json"])
    assert dup.exit_code == 2
    assert "already exists" in json.loads(dup.output)["error"]


def test_init_db_is_idempotent(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["libext", "init-db", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"applied": []}  # the fixture migrated already


def test_demo_loads_every_library_and_twice_changes_nothing(
    app: Flask, runner: FlaskCliRunner
) -> None:
    first = runner.invoke(args=["libext", "demo", "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert set(report["libraries"]) == {code for code, _, _ in LIBRARIES}
    assert all(r["rejected"] == 0 for r in report["libraries"].values())
    assert report["deleted"] == 3
    created = sum(r["created"] for r in report["libraries"].values())
    assert created >= 200
    with app.app_context():
        session = app.extensions["libext"].db.session
        stamps = dict(session.execute(select(Record.id, Record.datestamp)).all())
    second = json.loads(runner.invoke(args=["libext", "demo", "--json"]).output)
    assert sum(r["created"] + r["updated"] for r in second["libraries"].values()) == 0
    assert second["deleted"] == 0
    with app.app_context():
        session = app.extensions["libext"].db.session
        assert dict(session.execute(select(Record.id, Record.datestamp)).all()) == stamps
        assert session.scalar(select(func.count(Record.id))) == created


def _niceness_after_reindex(app: Flask, queue: Any) -> None:
    with app.app_context():
        app.extensions["libext"].db.engine.dispose(close=False)  # not the parent's connections
    app.config["LIBEXT_BATCH_NICENESS"] = 7
    result = app.test_cli_runner().invoke(args=["libext", "search", "reindex", "--json"])
    queue.put((result.exit_code, os.nice(0)))


def test_long_jobs_lower_their_cpu_priority(app: Flask) -> None:
    """A reindex (like an import or a harvest) nices its own process by
    LIBEXT_BATCH_NICENESS, leaving the CPU to readers' searches first."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_niceness_after_reindex, args=(app, queue))
    child.start()
    exit_code, niceness = queue.get(timeout=120)
    child.join()
    assert exit_code == 0
    assert niceness == min(os.nice(0) + 7, 19)
