"""``GET /api/export``: a streamed download of records in ISO 2709, MARCXML, MARC-in-JSON or
.mrk, with the CLI's filters: ``format``, ``library``, ``since``, ``q``, ``include_deleted``.

Public: anyone may export one library's records (``library``) or everyone's, without the
libraries' internal data (local 9XX fields such as Koha's 952 items, 852 barcodes and
nonpublic notes, 541, 583: see :mod:`marc.internal_fields`). ``internal=1`` asks for the
records whole: for a cataloguer of ``library`` or an administrator (401 anonymous, 403
otherwise); without ``library``, an administrator gets every library and a cataloguer the
libraries they catalogue for.
"""

from __future__ import annotations

from flask import Response, abort, current_app, request, stream_with_context
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


@bp.get("/export")
def export_records() -> ResponseReturnValue:
    """Stream the selected records as a file (public, or whole with ``internal=1``)."""
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
    include_deleted = request.args.get("include_deleted", "").lower() in _TRUE
    q = request.args.get("q") or None
    keys = query_record_ids(session, q, library) if q else None
    source = current_app.extensions["libext"].record_source()
    report = ExportReport(fmt)
    chunks = export_chunks(
        source,
        fmt,
        report,
        library=libraries,
        since=since,
        keys=keys,
        include_deleted=include_deleted,
        public=not internal,
    )
    name = f"{library or 'all'}{'-internal' if internal else ''}{SUFFIXES[fmt]}"
    return Response(
        stream_with_context(chunks),
        mimetype=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
