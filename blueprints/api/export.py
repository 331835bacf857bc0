"""``GET /api/export``: a streamed download of records in ISO 2709, MARCXML, MARC-in-JSON or
.mrk, with the CLI's filters: ``format``, ``library``, ``since``, ``q``, ``include_deleted``.

Only for signed-in cataloguers (of ``library`` when one is given; without it, of the
libraries they catalogue for) and administrators (everything).
"""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, current_app, request, stream_with_context
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from blueprints.api import bp
from libext.auth import cataloguer_required, current_principal, require_library
from libext.db import get_session
from libext.exporter import (
    CONTENT_TYPES,
    SUFFIXES,
    WRITE_FORMATS,
    ExportReport,
    export_chunks,
    query_record_ids,
)
from libext.models import Library


@bp.get("/export")
@cataloguer_required
def export_records() -> ResponseReturnValue:
    """Stream the selected records as a file."""
    fmt = request.args.get("format", "iso2709")
    if fmt not in WRITE_FORMATS:
        abort(400, description=f"format must be one of: {', '.join(WRITE_FORMATS)}")
    library = request.args.get("library") or None
    session = get_session()
    principal = current_principal()
    libraries: str | list[str] | None = library
    if library is None and principal is not None and not principal.is_admin:
        # a cataloguer's "everything" is everything of the libraries they catalogue for
        libraries = sorted(principal.libraries)
    if library is not None:
        require_library(library)
        if session.scalar(select(Library).where(Library.code == library)) is None:
            abort(404, description=f"no library with code {library!r}")
    since = None
    if request.args.get("since"):
        try:
            since = datetime.fromisoformat(request.args["since"].replace("Z", "+00:00"))
        except ValueError:
            abort(400, description="'since' must be a date (YYYY-MM-DD or ISO 8601)")
        since = since.replace(tzinfo=None)
    include_deleted = request.args.get("include_deleted", "").lower() in ("1", "true", "yes")
    q = request.args.get("q") or None
    keys = query_record_ids(session, q, library) if q else None
    if isinstance(libraries, list) and not libraries:
        abort(403, description="you catalogue for no library: ask for one with ?library=")
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
    )
    name = f"{library or 'all'}{SUFFIXES[fmt]}"
    return Response(
        stream_with_context(chunks),
        mimetype=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
