"""``flask libext source add|list|edit|remove`` and ``flask libext harvest``."""

from __future__ import annotations

import sys

import click
from flask import current_app
from sqlalchemy import select

from libext.cli import cli
from libext.cli.output import EXIT_OK, EXIT_PARTIAL, emit, fail, yield_cpu
from libext.db import get_session
from libext.harvest_sources import (
    SourceError,
    add_source,
    edit_source,
    find,
    list_sources,
    remove_source,
)
from libext.harvesting import HarvestOptions, harvest_sources
from libext.models import HarvestSource, Library
from oai.harvest import HarvestPage
from oai.harvest.records import parse_datestamp


@cli.group("source")
def source_group() -> None:
    """OAI-PMH sources the union catalogue harvests."""


@source_group.command("add")
@click.argument("code")
@click.option("--url", required=True, help="Base URL of the library's OAI-PMH endpoint.")
@click.option(
    "--prefix", default=None, help="Metadata prefix (default: marc21/marcxml, else oai_dc)."
)
@click.option("--set", "set_spec", default=None, help="Harvest only this OAI set.")
@click.option("--name", default=None, help="Library name (when the library is created).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def add(
    code: str, url: str, prefix: str | None, set_spec: str | None, name: str | None, as_json: bool
) -> None:
    """Register the OAI-PMH source of library CODE (created when missing), checking it first."""
    try:
        source = add_source(
            get_session(),
            code,
            url,
            prefix=prefix,
            set_spec=set_spec,
            name=name,
            config=current_app.config,
        )
    except SourceError as exc:
        fail(str(exc), as_json)
    data = source.to_dict()
    emit(
        data,
        as_json,
        f"Added source {code} ({source.library.name}): {source.url}, prefix "
        f"{source.metadata_prefix}, granularity {source.granularity}",
    )


@source_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def list_(as_json: bool) -> None:
    """List the sources with their last run."""
    rows = list_sources(get_session())
    lines = []
    for row in rows:
        run = row["last_run"] or {}
        last = (
            f"{run['status']} {run['finished'] or run['started']}: +{run['added']} "
            f"~{run['updated']} -{run['deleted']} skipped {run['skipped']}"
            if run
            else "never harvested"
        )
        if run and run.get("error"):
            last += f" ({run['error']})"
        lines.append(f"{row['code']:<10} {row['prefix']:<8} {row['url']}\n{'':<10} {last}")
    emit({"sources": rows}, as_json, "\n".join(lines) or "No harvest sources yet.")


@source_group.command("edit")
@click.argument("code")
@click.option("--url", default=None, help="New base URL (checked again).")
@click.option("--prefix", default=None, help="New metadata prefix (checked again).")
@click.option("--set", "set_spec", default=None, help="New set ('' for the whole repository).")
@click.option("--name", default=None, help="New library name.")
@click.option("--enable/--disable", "enabled", default=None, help="Include in --all or not.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def edit(
    code: str,
    url: str | None,
    prefix: str | None,
    set_spec: str | None,
    name: str | None,
    enabled: bool | None,
    as_json: bool,
) -> None:
    """Change the source of CODE; a new URL, prefix or set harvests again from the start."""
    try:
        source = edit_source(
            get_session(),
            code,
            url=url,
            prefix=prefix,
            set_spec=set_spec,
            name=name,
            enabled=enabled,
            config=current_app.config,
        )
    except SourceError as exc:
        fail(str(exc), as_json)
    emit(source.to_dict(), as_json, f"Updated source {code}: {source.url}")


@source_group.command("remove")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def remove(code: str, as_json: bool) -> None:
    """Remove the source of CODE and its harvest log (the library's records stay)."""
    try:
        remove_source(get_session(), code)
    except SourceError as exc:
        fail(str(exc), as_json)
    emit({"removed": code}, as_json, f"Removed source {code}; its records are kept.")


@cli.command("harvest")
@click.argument("codes", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Harvest every enabled source, in parallel.")
@click.option(
    "--full",
    is_flag=True,
    help="Harvest everything, not only what changed; records the repository no longer lists "
    "are marked deleted.",
)
@click.option(
    "--from", "from_", default=None, metavar="DATE", help="Only records changed on or after DATE."
)
@click.option("--until", default=None, metavar="DATE", help="Only records changed until DATE.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def harvest(
    codes: tuple[str, ...],
    all_: bool,
    full: bool,
    from_: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Harvest the sources of the CODEs (or --all); exit 1 when some source failed."""
    session = get_session()
    if not codes and not all_:
        fail("name the sources to harvest (library codes) or use --all", as_json)
    for label, value in (("--from", from_), ("--until", until)):
        if value and parse_datestamp(value) is None:
            fail(f"{label} {value!r} is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)", as_json)
    if full and from_:
        fail("--full and --from contradict each other", as_json)
    yield_cpu()
    ids: list[int] = []
    if all_:
        ids = list(
            session.scalars(
                select(HarvestSource.id)
                .join(HarvestSource.library)
                .where(HarvestSource.enabled.is_(True))
                .order_by(Library.code)
            )
        )
    for code in codes:
        source = find(session, code)
        if source is None:
            fail(f"library {code} has no harvest source (see 'flask libext source list')", as_json)
        if source.id not in ids:
            ids.append(source.id)
    session.close()
    show_progress = not as_json and sys.stderr.isatty()

    def progress(code: str, page: HarvestPage) -> None:
        size = f"/{page.complete_list_size}" if page.complete_list_size else ""
        click.echo(
            f"{code}: page {page.number}, {len(page.records)} records"
            f"{f', cursor {page.cursor}{size}' if page.cursor is not None else ''}",
            err=True,
        )

    reports = harvest_sources(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        ids,
        HarvestOptions(full=full, from_=from_, until=until),
        progress=progress if show_progress else None,
    )
    lines = [
        f"{r.source:<10} {r.status:<7} pages {r.pages:>4}  +{r.added} ~{r.updated} -{r.deleted}"
        f"  skipped {r.skipped}" + (f"\n{'':<10} {r.error}" if r.error else "")
        for r in reports
    ]
    emit(
        {"sources": [r.to_dict() for r in reports]},
        as_json,
        "\n".join(lines) or "No sources to harvest.",
    )
    sys.exit(EXIT_OK if all(r.status == "ok" for r in reports) else EXIT_PARTIAL)
