"""``flask libext search reindex|query``: rebuild clusters and index; search from a terminal."""

from __future__ import annotations

import time

import click
from flask import current_app

from libext.cli import cli
from libext.cli.output import emit, yield_cpu
from libext.db import get_session
from libext.search.indexer import SearchIndexer
from libext.search.labels import notice_text
from libext.search.service import run_search


@cli.group("search")
def search_group() -> None:
    """The union catalogue's search index and clusters."""


@search_group.command("reindex")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def reindex(as_json: bool) -> None:
    """Re-cluster every record and rebuild the full-text index (after an upgrade, or to repair).

    Every record is clustered afresh; records a cataloguer split off stay split off.
    """
    session = get_session()
    yield_cpu()
    start = time.perf_counter()
    clusters = SearchIndexer(session).rebuild()
    session.commit()
    seconds = round(time.perf_counter() - start, 1)
    emit(
        {"clusters": clusters, "seconds": seconds},
        as_json,
        f"Rebuilt the search index: {clusters} editions in {seconds} s",
    )


@search_group.command("query")
@click.argument("text")
@click.option("--size", default=10, show_default=True, help="Results to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def query(text: str, size: int, as_json: bool) -> None:
    """Search as the web page does and print the editions found."""
    results = run_search(get_session(), text, size=size, with_facets=False)
    data = {
        "total": results.total,
        "notices": [n.code for n in results.notices],
        "results": [r.to_dict() for r in results.results],
    }
    # Messages are translated for a request's language; a terminal gets the default one.
    with current_app.test_request_context():
        lines = [notice_text(n) for n in results.notices]
    lines.append(f"{results.total} results")
    for r in results.results:
        holders = ", ".join(f"{h.code} {h.call_number}".strip() for h in r.holders)
        lines.append(f"- [{r.record_id}] {r.title} ({r.year or '?'}) — {holders}")
    emit(data, as_json, "\n".join(lines))
