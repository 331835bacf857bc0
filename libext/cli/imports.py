"""CLI: ``flask libext import``, ``export`` and ``imports list|show|revert|rejects``."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import click
from flask import current_app
from sqlalchemy import select

from libext.cli import cli
from libext.cli.output import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, emit, fail, yield_cpu
from libext.exporter import export as run_export
from libext.exporter import parse_since, query_record_ids
from libext.importer import (
    ON_MATCH,
    STORED_ERRORS,
    ImportOptionError,
    ImportOptions,
    RevertError,
    rejects,
    revert_batch,
    run_import,
)
from libext.imports_web import batch_report
from libext.matching import DEFAULT_RULES
from libext.models import ImportBatch, Library
from libext.workers import WorkerFailed, worker_count
from marc.encoding import canonical_encoding
from marc.errors import MarcError
from marc.formats import canonical_format
from marc.writer import WRITE_FORMATS


def _state() -> Any:
    return current_app.extensions["libext"]


def _summary_text(report: dict[str, Any], limit: int = 20) -> str:
    head = (
        f"{'Dry run' if report['dry_run'] else 'Batch ' + str(report['batch'])} "
        f"({report['library']}, {report['file']}, {report['format']}): read {report['read']}: "
        f"created {report['created']}, updated {report['updated']}"
        f"{' (' + str(report['deleted']) + ' deleted)' if report['deleted'] else ''}, "
        f"skipped {report['skipped']}, rejected {report['rejected']}"
    )
    lines = [head]
    for error in report["errors"][:limit]:
        where = f"@{error['offset']}" if error["offset"] is not None else ""
        cn = f" [{error['control_number']}]" if error["control_number"] else ""
        lines.append(f"  record {error['ordinal']}{where}{cn}: {error['reason']}")
    more = report["rejected"] - min(limit, len(report["errors"]))
    if more > 0:
        lines.append(
            f"  … {more} more; download them with: flask libext imports rejects {report['batch']}"
        )
    record_warnings = report.get("record_warnings") or []
    if record_warnings:
        lines.append(f"{len(record_warnings)} record(s) read with warnings:")
    for item in record_warnings[:limit]:
        where = f"@{item['offset']}" if item["offset"] is not None else ""
        cn = f" [{item['control_number']}]" if item["control_number"] else ""
        lines.append(f"  record {item['ordinal']}{where}{cn}: {'; '.join(item['warnings'])}")
    if len(record_warnings) > limit:
        shown = f"flask libext imports show {report['batch']}" if report["batch"] else "--json"
        lines.append(f"  … {len(record_warnings) - limit} more: see {shown}")
    if report["message"]:
        lines.append(report["message"])
    return "\n".join(lines)


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--library", "library_code", required=True, help="Code of the importing library.")
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    help="iso2709, marcxml, json, mrk or auto.",
)
@click.option(
    "--encoding",
    default="auto",
    show_default=True,
    help="auto, utf-8, marc-8, tcvn3, vni, cp1251, latin-1…",
)
@click.option(
    "--match",
    "match_rules",
    default=",".join(DEFAULT_RULES),
    show_default=True,
    help="Match rules in order: 001, 035, isbn, issn.",
)
@click.option(
    "--on-match",
    type=click.Choice(ON_MATCH),
    default="replace",
    show_default=True,
    help="What to do with a matched record.",
)
@click.option("--dry-run", is_flag=True, help="Read and match only: show what would happen.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Records per transaction (default LIBEXT_STORE_BATCH_SIZE).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the batch report as one JSON document."
)
def import_command(
    files: tuple[str, ...],
    library_code: str,
    fmt: str,
    encoding: str,
    match_rules: str,
    on_match: str,
    dry_run: bool,
    batch_size: int | None,
    as_json: bool,
) -> None:
    """Import MARC FILE(s) into a library's catalogue (exit 0 all in, 1 some rejected,
    2 unusable arguments or file)."""
    state = _state()
    session = state.db.session
    try:
        fmt = canonical_format(fmt)
        encoding = canonical_encoding(encoding)
        options = ImportOptions(
            format=fmt,
            encoding=encoding,
            match=match_rules,  # type: ignore[arg-type]
            on_match=on_match,
            dry_run=dry_run,
            batch_size=batch_size or current_app.config["LIBEXT_STORE_BATCH_SIZE"],
            user="cli",
            # A command-line load may use every core; the web upload reads in its request.
            workers=worker_count(current_app.config.get("LIBEXT_WORKER_PROCESSES")),
        )
    except (MarcError, ImportOptionError) as exc:
        fail(str(exc), as_json)
    library = session.scalar(select(Library).where(Library.code == library_code))
    if library is None:
        fail(f"no library with code {library_code!r} (see: flask libext library list)", as_json)
    yield_cpu()
    reports: list[dict[str, Any]] = []
    unusable: list[str] = []
    show_bar = not as_json and sys.stderr.isatty()
    for name in files:
        bar = None
        if show_bar:
            size = Path(name).stat().st_size if Path(name).exists() else 0
            bar = click.progressbar(length=max(size, 1), label=Path(name).name, file=sys.stderr)
            bar.__enter__()
        done = [0]

        def progress(position: int, total: int, bar: Any = bar, done: list[int] = done) -> None:
            if bar is not None:
                bar.update(max(0, position - done[0]))
                done[0] = position

        try:
            report = run_import(state.store(), library, name, options, progress=progress)
        except (MarcError, WorkerFailed) as exc:
            unusable.append(str(exc))
            reports.append({"file": name, "error": str(exc)})
            if not as_json:
                click.echo(f"Error: {exc}", err=True)
            continue
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
        data = report.to_dict()
        reports.append(data)
        if not as_json:
            click.echo(_summary_text(data))
    if as_json:
        if len(reports) == 1:
            emit(reports[0], True)
        else:
            totals = {
                k: sum(r.get(k, 0) for r in reports)
                for k in ("read", "created", "updated", "skipped", "rejected")
            }
            emit({"batches": reports, **totals}, True)
    if unusable:
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_PARTIAL if any(r.get("rejected") for r in reports) else EXIT_OK)


def _parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_since(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date (YYYY-MM-DD or ISO 8601)") from None


@cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(WRITE_FORMATS), default="iso2709", show_default=True
)
@click.option(
    "--library", "library_code", default=None, help="Only this library's records (default: all)."
)
@click.option(
    "--since",
    default=None,
    help="Only records changed since DATE (YYYY-MM-DD or ISO 8601; UTC unless it has an offset).",
)
@click.option("--query", "q", default=None, help="Only the records a catalogue search for Q finds.")
@click.option("--include-deleted", is_flag=True, help="Include deleted records (leader/05 'd').")
@click.option(
    "--public",
    is_flag=True,
    help="Leave out internal data (local 9XX fields, 852 barcodes and nonpublic notes, 541, "
    "583), as the public download does.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="File to write (default: stdout).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the export report as JSON (needs -o).")
def export_command(
    fmt: str,
    library_code: str | None,
    since: str | None,
    q: str | None,
    include_deleted: bool,
    public: bool,
    output: str | None,
    as_json: bool,
) -> None:
    """Export records as ISO 2709, MARCXML, MARC-in-JSON or MarcEdit .mrk (whole records;
    ``--public`` for the copy anyone may download)."""
    state = _state()
    session = state.db.session
    since_at = _parse_since(since)
    if as_json and output is None:
        fail("--json needs -o FILE (the records themselves go to stdout otherwise)", True)
    if (
        library_code is not None
        and session.scalar(select(Library).where(Library.code == library_code)) is None
    ):
        fail(f"no library with code {library_code!r}", as_json)
    keys = query_record_ids(session, q, library_code) if q else None
    out: BinaryIO
    out = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
    try:
        report = run_export(
            state.record_source(),
            out,
            fmt,
            library=library_code,
            since=since_at,
            keys=keys,
            include_deleted=include_deleted,
            public=public,
        )
    finally:
        if output:
            out.close()
        else:
            out.flush()
    data = report.to_dict()
    if as_json:
        emit(data, True)
    else:
        click.echo(f"Exported {report.written} record(s) as {fmt}.", err=True)
        for name, reason in report.refused:
            click.echo(f"  not exported: {name}: {reason}", err=True)
    sys.exit(EXIT_PARTIAL if report.refused else EXIT_OK)


@cli.group("imports")
def imports_group() -> None:
    """Import batches: list, show, revert, download rejects."""


def _get_batch(batch_id: int, as_json: bool) -> ImportBatch:
    batch = _state().db.session.get(ImportBatch, batch_id)
    if batch is None:
        fail(f"no import batch {batch_id}", as_json)
    return batch


@imports_group.command("list")
@click.option("--library", "library_code", default=None)
@click.option("--json", "as_json", is_flag=True)
def list_batches(library_code: str | None, as_json: bool) -> None:
    """List import batches, newest first."""
    session = _state().db.session
    stmt = select(ImportBatch).order_by(ImportBatch.id.desc()).limit(200)
    if library_code:
        stmt = stmt.join(Library).where(Library.code == library_code)
    rows = [b.to_dict() for b in session.scalars(stmt)]
    text = "\n".join(
        f"{r['batch']:>5} {r['library']:<8} {r['status']:<9} read {r['read']:>7} "
        f"+{r['created']} ~{r['updated']} ={r['skipped']} !{r['rejected']}  {r['file']}"
        for r in rows
    )
    emit({"batches": rows}, as_json, text or "No imports yet.")


@imports_group.command("show")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show_batch(batch_id: int, as_json: bool) -> None:
    """Show one batch: its counts, rejects, examples and warnings."""
    report = batch_report(_state().db.session, _get_batch(batch_id, as_json))
    state = (
        f"Status {report['status']}; on match {report['on_match']} ({report['match']}); "
        f"by {report['user'] or '-'}; started {report['created_at']}"
        + (f", finished {report['finished_at']}" if report["finished_at"] else "")
    )
    emit(report, as_json, _summary_text(report, limit=STORED_ERRORS) + "\n" + state)


@imports_group.command("revert")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def revert_command(batch_id: int, as_json: bool) -> None:
    """Revert a batch: created records withdrawn, overlaid ones restored."""
    batch = _get_batch(batch_id, as_json)
    try:
        report = revert_batch(_state().store(), batch)
    except RevertError as exc:
        fail(str(exc), as_json)
    data = report.to_dict()
    emit(
        data,
        as_json,
        f"Batch {batch_id} reverted: {report.removed} record(s) withdrawn, "
        f"{report.restored} restored, {report.untouched} left as they were.",
    )


@imports_group.command("rejects")
@click.argument("batch_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None)
def rejects_command(batch_id: int, output: str | None) -> None:
    """Write the rejected records of a batch (in its input format) to a file or stdout."""
    batch = _get_batch(batch_id, False)
    out: BinaryIO = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
    try:
        for chunk in rejects(_state().db.session, batch):
            out.write(chunk)
    finally:
        if output:
            out.close()
        else:
            out.flush()
