"""Cataloguers' import pages (``/cataloguing``): upload, staged summary, confirm or cancel,
report, rejects download, revert.

The upload is streamed to disk (Werkzeug spools it; it is then copied in chunks) and refused
with 413 above ``LIBEXT_MAX_UPLOAD_BYTES``. Every upload is first a dry run kept as a staged
batch: the cataloguer sees how many records are new, would overlay an existing record, or
are broken and why, and only then confirms. Views are thin over :mod:`libext.imports_web`.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from libext.auth import cataloguer_required, current_principal, require_library
from libext.db import get_session
from libext.importer import REJECT_SUFFIX, RevertError, rejects, revert_batch
from libext.imports_web import batch_report, cancel, confirm, options_from, save_upload, stage
from libext.matching import DEFAULT_RULES
from libext.models import ImportBatch, Library
from marc.errors import MarcError

bp = Blueprint("libext_cataloguing", __name__, template_folder="templates")

FORMATS = [
    ("auto", _l("Tự nhận dạng")),
    ("iso2709", "ISO 2709 (.mrc, .iso, .dat)"),
    ("marcxml", "MARCXML"),
    ("json", "MARC-in-JSON"),
    ("mrk", "MarcEdit (.mrk)"),
]
ENCODINGS = [
    ("auto", _l("Tự nhận dạng (theo đầu biểu/09)")),
    ("utf-8", "UTF-8"),
    ("marc-8", "MARC-8"),
    ("tcvn3", "TCVN3 (ABC)"),
    ("vni", "VNI"),
    ("cp1252", "Windows-1252 / Latin-1"),
    ("cp1251", "Windows-1251"),
]
ACTIONS = [
    ("replace", _l("Thay bản ghi cũ")),
    ("merge", _l("Hợp nhất (giữ trường cục bộ và vốn tài liệu)")),
    ("skip", _l("Bỏ qua bản ghi trùng")),
    ("always-new", _l("Luôn tạo bản ghi mới")),
]


class UploadForm(FlaskForm):
    """An upload: the file, the importing library and how to read and match."""

    file = FileField(_l("Tệp MARC"), validators=[FileRequired()])
    library = SelectField(_l("Thư viện"), choices=[])
    format = SelectField(_l("Định dạng"), choices=FORMATS, default="auto")
    encoding = SelectField(_l("Bảng mã"), choices=ENCODINGS, default="auto")
    match = StringField(
        _l("So khớp theo"), default=",".join(DEFAULT_RULES), validators=[Optional(), Length(max=64)]
    )
    on_match = SelectField(_l("Khi trùng"), choices=ACTIONS, default="replace")


class ActionForm(FlaskForm):
    """Only the CSRF token: confirm, cancel and revert are POSTs."""


def _libraries() -> list[Library]:
    principal = current_principal()
    session = get_session()
    libraries = list(session.scalars(select(Library).order_by(Library.code)))
    if principal is None:
        return []
    return [lib for lib in libraries if principal.may_catalogue(lib.code)]


def _batch_or_404(batch_id: int) -> ImportBatch:
    batch = get_session().get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    require_library(batch.library.code)
    return batch


@bp.route("/", methods=["GET", "POST"])
@cataloguer_required
def index() -> ResponseReturnValue:
    """Upload form and the recent batches of the user's libraries."""
    if request.method == "POST" and request.form.get("library"):
        require_library(request.form["library"])  # 401/403 before any form validation
    libraries = _libraries()
    form = UploadForm()
    form.library.choices = [(lib.code, f"{lib.code} · {lib.name}") for lib in libraries]
    status = 200
    error = None
    if form.validate_on_submit():
        code = form.library.data
        principal = require_library(code)
        library = next(lib for lib in libraries if lib.code == code)
        try:
            options = options_from(
                {
                    "format": form.format.data,
                    "encoding": form.encoding.data,
                    "match": form.match.data,
                    "on_match": form.on_match.data,
                    "dry_run": "1",
                },
                principal.name,
            )
        except ValueError as exc:
            error, status = str(exc), 400
        else:
            path, name = save_upload(form.file.data)
            try:
                batch, _report = stage(
                    current_app.extensions["libext"], library, path, name, options
                )
            except MarcError as exc:  # stage() has removed the file
                error, status = str(exc), 422
            else:
                return redirect(url_for("libext_cataloguing.batch", batch_id=batch.id))
    elif form.is_submitted():
        status = 400
    codes = [lib.id for lib in libraries]
    batches = list(
        get_session().scalars(
            select(ImportBatch)
            .where(ImportBatch.library_id.in_(codes))
            .order_by(ImportBatch.id.desc())
            .limit(50)
        )
    )
    return (
        render_template("libext/cataloguing/index.html", form=form, batches=batches, error=error),
        status,
    )


@bp.get("/batches/<int:batch_id>")
@cataloguer_required
def batch(batch_id: int) -> ResponseReturnValue:
    """A staged summary (with the confirm button) or a batch's report (with revert)."""
    item = _batch_or_404(batch_id)
    report = batch_report(get_session(), item, errors=500)
    return render_template(
        "libext/cataloguing/batch.html",
        batch=item,
        report=report,
        examples=report["examples"],
        actions=ActionForm(),
        on_match=dict(ACTIONS),
    )


@bp.post("/batches/<int:batch_id>/confirm")
@cataloguer_required
def confirm_batch(batch_id: int) -> ResponseReturnValue:
    """Import a staged batch."""
    item = _batch_or_404(batch_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        report = confirm(current_app.extensions["libext"], item)
    except (ValueError, MarcError) as exc:
        flash(str(exc))
        return redirect(url_for("libext_cataloguing.index"))
    flash(_("Đã nhập: %(n)s bản ghi mới, %(u)s cập nhật.", n=report.created, u=report.updated))
    return redirect(url_for("libext_cataloguing.batch", batch_id=report.batch))


@bp.post("/batches/<int:batch_id>/cancel")
@cataloguer_required
def cancel_batch(batch_id: int) -> ResponseReturnValue:
    """Drop a staged batch and its uploaded file."""
    item = _batch_or_404(batch_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cancel(current_app.extensions["libext"], item)
    except ValueError as exc:
        flash(str(exc))
        return redirect(url_for("libext_cataloguing.batch", batch_id=batch_id))
    flash(_("Đã huỷ lô %(id)s: không nhập biểu ghi nào.", id=batch_id))
    return redirect(url_for("libext_cataloguing.index"))


@bp.post("/batches/<int:batch_id>/revert")
@cataloguer_required
def revert(batch_id: int) -> ResponseReturnValue:
    """Revert a batch."""
    item = _batch_or_404(batch_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = revert_batch(current_app.extensions["libext"].store(), item)
    except RevertError as exc:
        flash(str(exc))
    else:
        flash(
            _(
                "Đã hoàn tác lô %(id)s: gỡ %(r)s bản ghi, khôi phục %(s)s.",
                id=item.id,
                r=result.removed,
                s=result.restored,
            )
        )
    return redirect(url_for("libext_cataloguing.batch", batch_id=batch_id))


@bp.get("/batches/<int:batch_id>/rejects")
@cataloguer_required
def rejects_download(batch_id: int) -> ResponseReturnValue:
    """The batch's rejected records as a file to fix and upload again."""
    item = _batch_or_404(batch_id)
    suffix = REJECT_SUFFIX.get(item.format, ".dat")
    return Response(
        stream_with_context(rejects(get_session(), item)),
        mimetype="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="rejects-{item.id}{suffix}"'},
    )
