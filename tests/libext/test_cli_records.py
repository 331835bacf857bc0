"""``flask libext record delete``: records withdrawn from the command line stay OAI deletions."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskCliRunner

from tests.blueprints.oai_support import live_ids, load_records


def test_delete_records(app: Flask, runner: FlaskCliRunner) -> None:
    first, second, third = load_records(app, 3)
    result = runner.invoke(args=["libext", "record", "delete", str(first), str(second)])
    assert result.exit_code == 0, result.output
    assert f"Deleted record {first}" in result.output
    live, gone = live_ids(app)
    assert gone == {first, second} and live == {third}

    result = runner.invoke(args=["libext", "record", "delete", "--json", str(first)])
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "deleted": [],
        "already_deleted": [first],
        "not_found": [],
    }
    response = app.test_client().get(
        f"/oai?verb=GetRecord&identifier=oai:libext.local:{first}&metadataPrefix=marc21"
    )
    assert b'status="deleted"' in response.data


def test_unknown_ids(app: Flask, runner: FlaskCliRunner) -> None:
    (record_id,) = load_records(app, 1)
    result = runner.invoke(args=["libext", "record", "delete", "--json", "424242"])
    assert result.exit_code == 2
    assert json.loads(result.output)["not_found"] == [424242]
    result = runner.invoke(args=["libext", "record", "delete", str(record_id), "424242"])
    assert result.exit_code == 1
    assert "no record 424242" in result.output
    result = runner.invoke(args=["libext", "record", "delete", "abc"])
    assert result.exit_code == 2  # not an id at all
    assert live_ids(app)[1] == {record_id}
