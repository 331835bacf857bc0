"""What the import pages and the import API share: storing an upload, staging, reporting.

Kept out of the views so that the HTML blueprint and the JSON API stay thin and behave alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from libext.importer import ImportOptions, ImportReport, run_import
from libext.models import ImportBatch, ImportOutcome, Library, utcnow
from marc.encoding import canonical_encoding
from marc.errors import MarcError
from marc.formats import canonical_format

_COPY = 1 << 20


def upload_dir() -> Path:
    """Where uploads are kept until imported (created when missing)."""
    configured = current_app.config.get("LIBEXT_MARC_UPLOAD_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "libext-imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_upload(upload: FileStorage) -> tuple[Path, str]:
    """Copy an uploaded file to :func:`upload_dir` in chunks; returns (path, original name).

    Werkzeug has already spooled a large upload to a temporary file; copying in chunks keeps
    memory flat whatever the size. The size limit is enforced on the request itself.
    """
    # The client's file name is only shown back, never trusted: non-printable characters (a NUL
    # breaks open() and PostgreSQL) are dropped, and the file on disk is named by a UUID alone
    # (a long UTF-8 name would pass the 255-byte limit of file names).
    name = "".join(ch for ch in Path(upload.filename or "").name if ch.isprintable())[:200]
    name = name or "upload"
    suffix = Path(name).suffix
    safe_suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""
    target = upload_dir() / f"{uuid.uuid4().hex}{safe_suffix}"
    with open(target, "wb") as out:
        while chunk := upload.stream.read(_COPY):
            out.write(chunk)
    return target, name


@contextlib.contextmanager
def named_as_uploaded(session: Session, path: Path, name: str) -> Iterator[None]:
    """Make errors raised about an upload name it as uploaded (``name``), not by the path of
    its server-side copy.

    The reader names the file it was given in its messages, and uploads are read from a copy
    in :func:`upload_dir`: left alone, a 422 would show the server's folder layout. A real
    import that failed part-way has also stored the message on its (failed) batch, which the
    pages and the API show later, so the stored message is rewritten too.
    """
    try:
        yield
    except MarcError as exc:
        stored = str(path)
        message = str(exc)
        public = message.replace(stored, name).replace(path.name, name)
        if public != message:
            exc.args = (public,)
            try:
                session.execute(
                    update(ImportBatch)
                    .where(ImportBatch.message.contains(stored, autoescape=True))
                    .values(message=func.replace(ImportBatch.message, stored, name))
                )
                session.commit()
            except SQLAlchemyError:
                # The user's answer (the 422 with the upload's name) matters more than the
                # stored copy of the message: never let this replace the error being raised.
                session.rollback()
        raise


def options_from(form: Any, user: str) -> ImportOptions:
    """Import options from a form or query mapping (raises ValueError subclasses)."""
    dry = str(form.get("dry_run", "")).lower() in ("1", "true", "yes", "on")
    return ImportOptions(
        format=canonical_format(form.get("format") or "auto"),
        encoding=canonical_encoding(form.get("encoding") or "auto"),
        match=form.get("match") or None,  # type: ignore[arg-type]
        on_match=form.get("on_match") or "replace",
        dry_run=dry,
        batch_size=current_app.config["LIBEXT_STORE_BATCH_SIZE"],
        user=user,
    )


def discard(path: Path | str | None) -> None:
    """Remove an upload from disk; one already gone is fine."""
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)


def expire_staged(session: Session, max_age: float | None = None) -> int:
    """Forget staged batches older than ``max_age`` seconds (``LIBEXT_MARC_STAGED_MAX_AGE``
    by default) and remove their files; returns how many batches went.

    Uploads nobody confirmed or cancelled would otherwise fill the upload folder. Files in
    the folder older than ``max_age`` that no staged batch names (left by a worker killed
    mid-upload) are removed too.
    """
    if max_age is None:
        max_age = float(current_app.config["LIBEXT_MARC_STAGED_MAX_AGE"])
    cutoff = utcnow() - timedelta(seconds=max_age)
    stale = list(
        session.scalars(
            select(ImportBatch).where(ImportBatch.status == "staged", ImportBatch.created < cutoff)
        )
    )
    for batch in stale:
        discard(batch.staged_path)
        session.delete(batch)
    session.commit()
    waiting = set(
        session.scalars(
            select(ImportBatch.staged_path).where(
                ImportBatch.status == "staged", ImportBatch.staged_path.is_not(None)
            )
        )
    )
    oldest = time.time() - max_age
    for entry in upload_dir().iterdir():
        with contextlib.suppress(OSError):
            if entry.is_file() and str(entry) not in waiting and entry.stat().st_mtime < oldest:
                entry.unlink()
    return len(stale)


def cancel(state: Any, batch: ImportBatch) -> None:
    """Drop a staged batch and its uploaded file (nothing was imported)."""
    if batch.status != "staged":
        raise ValueError(f"batch {batch.id} is {batch.status}, not waiting for confirmation")
    session: Session = state.db.session
    path = batch.staged_path
    session.delete(batch)
    session.commit()
    discard(path)


def stage(
    state: Any, library: Library, path: Path, name: str, options: ImportOptions
) -> tuple[ImportBatch, ImportReport]:
    """Dry-run ``path`` and keep it as a staged batch awaiting confirmation.

    Stale staged uploads are expired first. If the dry run fails, the file is removed.
    """
    session: Session = state.db.session
    options.dry_run = True
    try:
        expire_staged(session)
        with named_as_uploaded(session, path, name):
            report = run_import(state.store(), library, path, options, filename=name)
    except BaseException:
        discard(path)
        raise
    batch = ImportBatch(
        library_id=library.id,
        filename=name[:512],
        staged_path=str(path),
        format=report.format,
        encoding=options.encoding,
        match_rules=",".join(options.match),
        on_match=options.on_match,
        status="staged",
        user=options.user[:255],
        read=report.read,
        created_count=report.created,
        updated=report.updated,
        skipped=report.skipped,
        rejected=report.rejected,
        deleted=report.deleted,
        message=report.message,
        summary=report.stored_summary(),
    )
    try:
        session.add(batch)
        session.commit()
    except BaseException:
        discard(path)
        raise
    report.batch = batch.id
    return batch, report


def import_now(
    state: Any, library: Library, path: Path, name: str, options: ImportOptions
) -> ImportReport:
    """Import an upload at once (no staging); its file is removed whatever happens."""
    try:
        with named_as_uploaded(state.db.session, path, name):
            return run_import(state.store(), library, path, options, filename=name)
    finally:
        discard(path)


def confirm(state: Any, batch: ImportBatch) -> ImportReport:
    """Run a staged batch for real (the staged row becomes the running batch's record)."""
    if batch.status != "staged" or not batch.staged_path:
        raise ValueError(f"batch {batch.id} is {batch.status}, not waiting for confirmation")
    path = Path(batch.staged_path)
    if not path.exists():
        raise ValueError(f"the uploaded file of batch {batch.id} is gone; upload it again")
    options = ImportOptions(
        format=batch.format or "auto",
        encoding=batch.encoding,
        match=batch.match_rules,  # type: ignore[arg-type]
        on_match=batch.on_match,
        batch_size=current_app.config["LIBEXT_STORE_BATCH_SIZE"],
        user=batch.user,
    )
    session: Session = state.db.session
    library = batch.library
    name = batch.filename
    session.delete(batch)  # the real run creates its own batch row with outcomes
    session.commit()
    try:
        with named_as_uploaded(session, path, name):
            return run_import(state.store(), library, path, options, filename=name)
    finally:
        discard(path)


def batch_report(session: Session, batch: ImportBatch, errors: int = 1000) -> dict[str, Any]:
    """A stored batch as the report the CLI prints, with up to ``errors`` rejects.

    A staged batch has no outcomes yet (a dry run writes nothing): its errors are the ones its
    dry run kept in ``summary``. A batch that ran shows its stored rejects. Both show the
    examples and the per-record warnings their run kept in ``summary``.
    """
    report: dict[str, Any] = {**batch.to_dict(), "dry_run": batch.status == "staged"}
    kept = json.loads(batch.summary) if batch.summary else {}
    if batch.status == "staged":
        found = list(kept.get("errors", []))[:errors]
    else:
        rows = session.scalars(
            select(ImportOutcome)
            .where(ImportOutcome.batch_id == batch.id, ImportOutcome.action == "rejected")
            .order_by(ImportOutcome.ordinal)
            .limit(errors)
        ).all()
        found = [
            {
                "ordinal": r.ordinal,
                "offset": r.offset,
                "control_number": r.control_number,
                "reason": r.reason,
            }
            for r in rows
        ]
    report["errors"] = found
    report["errors_truncated"] = len(found) < batch.rejected
    report["examples"] = kept.get("examples", {})
    report["warnings"] = kept.get("warnings", 0)
    report["record_warnings"] = kept.get("record_warnings", [])
    return report
