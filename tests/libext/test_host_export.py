"""The exporter reads through the host seam: a host ILS's own books export as MARC."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pymarc

from tests.host_ils import SAMPLE_BOOKS, add_sample_books, create_host_app


def test_host_books_export_as_iso2709_and_json(tmp_path: Path) -> None:
    app = create_host_app(f"sqlite:///{tmp_path / 'host.sqlite3'}")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["libext", "init-db"]).exit_code == 0  # as the host's admin would
    add_sample_books(app)
    out = tmp_path / "host.mrc"
    result = runner.invoke(args=["libext", "export", "--format", "iso2709", "-o", str(out)])
    assert result.exit_code == 0, result.output
    records = list(pymarc.MARCReader(io.BytesIO(out.read_bytes()), to_unicode=True))
    assert [r["245"]["a"] for r in records] == [title for title, *_ in SAMPLE_BOOKS]
    assert records[0]["100"]["a"] == "Nguyễn Du"
    assert records[0]["852"]["h"] == "895.9221 NG-D"  # holdings written as 852

    out_json = tmp_path / "host.json"
    result = runner.invoke(args=["libext", "export", "--format", "json", "-o", str(out_json)])
    assert result.exit_code == 0, result.output
    data = json.loads(out_json.read_text())
    assert len(data) == len(SAMPLE_BOOKS)
    assert {"leader", "fields"} <= set(data[0])
