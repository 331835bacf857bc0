"""``/api/imports``: MARC imports as JSON for cataloguers of the importing library.

``POST /imports`` (multipart: ``file``, ``library``, ``format``, ``encoding``, ``match``,
``on_match``, ``dry_run``) → 201 and the batch report (a dry run is kept as a staged batch,
confirmed with ``POST /imports/<batch>/confirm`` or dropped with
``POST /imports/<batch>/cancel``); ``GET /imports/<batch>``;
``POST /imports/<batch>/revert``; ``GET /imports/<batch>/rejects`` downloads the rejected
records in the input's format.
"""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, request, stream_with_context
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from blueprints.api import bp
from libext.auth import cataloguer_required, require_library
from libext.db import get_session
from libext.importer import REJECT_SUFFIX, RevertError, rejects, revert_batch
from libext.imports_web import (
    batch_report,
    cancel,
    confirm,
    import_now,
    options_from,
    save_upload,
    stage,
)
from libext.models import ImportBatch, Library
from marc.errors import MarcError


def _batch_or_404(batch_id: int) -> ImportBatch:
    batch = get_session().get(ImportBatch, batch_id)
    if batch is None:
        abort(404, description=f"no import batch {batch_id}")
    require_library(batch.library.code)
    return batch


@bp.post("/imports")
@cataloguer_required
def imports_create() -> ResponseReturnValue:
    """Import (or stage, with ``dry_run``) an uploaded MARC file."""
    code = (request.form.get("library") or "").strip()
    if not code:
        abort(400, description="'library' (the importing library's code) is required")
    principal = require_library(code)
    library = get_session().scalar(select(Library).where(Library.code == code))
    if library is None:
        abort(404, description=f"no library with code {code!r}")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        abort(400, description="'file' (the MARC file, as multipart form data) is required")
    try:
        options = options_from(request.form, principal.name)
    except ValueError as exc:
        abort(400, description=str(exc))
    path, name = save_upload(upload)
    state = current_app.extensions["libext"]
    try:
        if options.dry_run:
            _batch, report = stage(state, library, path, name, options)  # keeps the file
        else:
            report = import_now(state, library, path, name, options)  # removes the file
    except MarcError as exc:
        abort(422, description=str(exc))
    return jsonify(report.to_dict()), 201


@bp.get("/imports/<int:batch_id>")
@cataloguer_required
def imports_show(batch_id: int) -> ResponseReturnValue:
    """A batch's report."""
    return jsonify(batch_report(get_session(), _batch_or_404(batch_id)))


@bp.post("/imports/<int:batch_id>/confirm")
@cataloguer_required
def imports_confirm(batch_id: int) -> ResponseReturnValue:
    """Run a staged (dry-run) batch for real."""
    batch = _batch_or_404(batch_id)
    try:
        report = confirm(current_app.extensions["libext"], batch)
    except ValueError as exc:
        abort(409, description=str(exc))
    except MarcError as exc:
        abort(422, description=str(exc))
    return jsonify(report.to_dict()), 201


@bp.post("/imports/<int:batch_id>/cancel")
@cataloguer_required
def imports_cancel(batch_id: int) -> ResponseReturnValue:
    """Drop a staged (dry-run) batch and its upload without importing anything."""
    batch = _batch_or_404(batch_id)
    try:
        cancel(current_app.extensions["libext"], batch)
    except ValueError as exc:
        abort(409, description=str(exc))
    return jsonify({"batch": batch_id, "status": "cancelled"})


@bp.post("/imports/<int:batch_id>/revert")
@cataloguer_required
def imports_revert(batch_id: int) -> ResponseReturnValue:
    """Revert a batch."""
    batch = _batch_or_404(batch_id)
    try:
        report = revert_batch(current_app.extensions["libext"].store(), batch)
    except RevertError as exc:
        abort(409, description=str(exc))
    return jsonify(report.to_dict())


@bp.get("/imports/<int:batch_id>/rejects")
@cataloguer_required
def imports_rejects(batch_id: int) -> ResponseReturnValue:
    """The rejected records, as a file in the batch's input format."""
    batch = _batch_or_404(batch_id)
    session = get_session()
    suffix = REJECT_SUFFIX.get(batch.format, ".dat")
    return Response(
        stream_with_context(rejects(session, batch)),
        mimetype="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="rejects-{batch.id}{suffix}"'},
    )
