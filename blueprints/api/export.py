"""``GET /api/export``: a streamed download of records in ISO 2709, MARCXML, MARC-in-JSON or
.mrk, with the CLI's filters: ``format``, ``library``, ``since`` (a date or an ISO 8601 time;
an offset is converted, a time without one is UTC), ``q`` (the records a catalogue search
finds), ``include_deleted`` (deleted records too, leader/05 ``d``).

Public: anyone may export one library's records (``library``) or everyone's, without the
libraries' internal data (local 9XX fields such as Koha's 952 items, 852 barcodes and
nonpublic notes, 541, 583: see :mod:`marc.internal_fields`). ``internal=1`` asks for the
records whole: for a cataloguer of ``library`` or an administrator (401 anonymous, 403
otherwise); without ``library``, an administrator gets every library and a cataloguer the
libraries they catalogue for. Holdings are written as 852 fields, Koha's 952 items included
(see :mod:`libext.exporter`).

**Records that cannot be written.** A record the format cannot hold (ISO 2709: over 99,999
bytes, or a field over 9,999) or a deleted record whose metadata is gone is left out, never
written broken. The download is streamed, so its status and headers are sent before anyone
knows; it says so where it can:

* a MARCXML download ends with an XML comment naming each left-out record and why;
* ISO 2709, MARC-in-JSON and .mrk cannot carry a note (trailing text would read as a broken
  record, a JSON array holds records only), and WSGI sends no HTTP trailers: for those,
  ``GET /api/export/report`` with the same parameters answers with the export's report as
  JSON (``written``, ``refused``: ``[{"record", "reason"}]``, ``stripped_characters``,
  ``dropped``), before or after the download. It does the export's work without sending the
  records (a host ILS builds its records on the fly, and whether one fits is only known once
  it is written);
* the server logs a warning (logger ``libext.export``) at the end of every download that
  left records out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from flask import Response, abort, current_app, jsonify, request, stream_with_context
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from blueprints.api import bp
from libext.auth import ROLE_CATALOGUER, current_principal, require_library
from libext.db import get_session
from libext.exporter import (
    CONTENT_TYPES,
    SUFFIXES,
    WRITE_FORMATS,
    ExportReport,
    export_chunks,
    export_report,
    parse_since,
    query_record_ids,
)
from libext.models import Library

_TRUE = ("1", "true", "yes", "on")


def _internal_libraries(library: str | None) -> str | list[str] | None:
    """The libraries whose whole records the caller may export (aborts 401/403)."""
    if library is not None:
        require_library(library)
        return library
    principal = current_principal()
    if principal is None:
        abort(401)
    if principal.is_admin:
        return None
    if ROLE_CATALOGUER not in principal.roles or not principal.libraries:
        abort(403, description="internal fields are for the cataloguers of a library")
    # a cataloguer's "everything" is everything of the libraries they catalogue for
    return sorted(principal.libraries)


log = logging.getLogger("libext.export")
#: Refused records named in the log entry of one download (the report lists them all).
_LOGGED = 20


def _selection() -> tuple[str, dict[str, Any], str]:
    """The export the query string asks for: its format, :func:`export_chunks`'s keyword
    arguments and the download's file name (aborts 400, 401, 403 or 404)."""
    fmt = request.args.get("format", "iso2709")
    if fmt not in WRITE_FORMATS:
        abort(400, description=f"format must be one of: {', '.join(WRITE_FORMATS)}")
    library = request.args.get("library") or None
    internal = request.args.get("internal", "").lower() in _TRUE
    libraries = _internal_libraries(library) if internal else library
    session = get_session()
    if (
        library is not None
        and session.scalar(select(Library).where(Library.code == library)) is None
    ):
        abort(404, description=f"no library with code {library!r}")
    since = None
    if request.args.get("since"):
        try:
            since = parse_since(request.args["since"])
        except ValueError:
            abort(400, description="'since' must be a date (YYYY-MM-DD or ISO 8601)")
    q = request.args.get("q") or None
    selection = {
        "library": libraries,
        "since": since,
        "keys": query_record_ids(session, q, library) if q else None,
        "include_deleted": request.args.get("include_deleted", "").lower() in _TRUE,
        "public": not internal,
    }
    name = f"{library or 'all'}{'-internal' if internal else ''}{SUFFIXES[fmt]}"
    return fmt, selection, name


def _logged(chunks: Iterator[bytes], report: ExportReport) -> Iterator[bytes]:
    """``chunks``, then a warning in the server's log if the export left records out (the
    response's status and headers were sent long before that is known)."""
    yield from chunks
    if report.refused:
        shown = "; ".join(f"{name}: {reason}" for name, reason in report.refused[:_LOGGED])
        if len(report.refused) > _LOGGED:
            shown += f"; and {len(report.refused) - _LOGGED} more (see /export/report)"
        log.warning(
            "export %s: %d record(s) written, %d not written: %s",
            request.query_string.decode("utf-8", "replace") or "(everything)",
            report.written,
            len(report.refused),
            # a record's name is its 001: no line breaks of its own in the server's log
            "".join(ch if ch.isprintable() else " " for ch in shown),
        )


@bp.get("/export")
def export_records() -> ResponseReturnValue:
    """Stream the selected records as a file (public, or whole with ``internal=1``)."""
    fmt, selection, name = _selection()
    source = current_app.extensions["libext"].record_source()
    report = ExportReport(fmt)
    chunks = export_chunks(source, fmt, report, **selection)
    return Response(
        stream_with_context(_logged(chunks, report)),
        mimetype=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/export/report")
def export_records_report() -> ResponseReturnValue:
    """The report of the export the same parameters select: how many records it writes,
    which it leaves out and why (JSON)."""
    fmt, selection, _name = _selection()
    source = current_app.extensions["libext"].record_source()
    return jsonify(export_report(source, fmt, **selection).to_dict())
