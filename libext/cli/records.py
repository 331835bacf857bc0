"""``flask libext record delete ID...``: a cataloguer withdraws records.

A deleted record is not erased: it stays in the store marked deleted, with a new datestamp,
so OAI-PMH harvesters learn of the deletion (``deletedRecord=persistent``) and the search
index drops it through the store's hooks.
"""

from __future__ import annotations

import click
from flask import current_app

from libext.cli import cli
from libext.cli.output import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, emit
from libext.db import get_session
from libext.models import Record


@cli.group("record")
def record_group() -> None:
    """Records of the store."""


@record_group.command("delete")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def delete(ids: tuple[int, ...], as_json: bool) -> None:
    """Delete the records with these IDS; they stay listed as OAI-PMH deletions.

    Exit status 0 when every id was deleted (or already was), 1 when some ids were unknown,
    2 when none was known.
    """
    session = get_session()
    store = current_app.extensions["libext"].store()
    report: dict[str, list[int]] = {"deleted": [], "already_deleted": [], "not_found": []}
    for record_id in dict.fromkeys(ids):
        record = session.get(Record, record_id)
        if record is None:
            report["not_found"].append(record_id)
        elif store.delete(record):
            report["deleted"].append(record_id)
        else:
            report["already_deleted"].append(record_id)
    store.flush()
    session.commit()
    lines = [
        f"Deleted record {i}; it stays listed as an OAI-PMH deletion." for i in report["deleted"]
    ]
    lines += [f"Record {i} was already deleted." for i in report["already_deleted"]]
    lines += [f"Error: no record {i}." for i in report["not_found"]]
    emit(report, as_json, "\n".join(lines))
    if report["not_found"]:
        done = report["deleted"] or report["already_deleted"]
        raise SystemExit(EXIT_PARTIAL if done else EXIT_USAGE)
    raise SystemExit(EXIT_OK)
