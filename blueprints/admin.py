"""Administration pages (``/admin``): the harvest sources, their status and their errors.

Thin views over :mod:`libext.harvest_sources` and :mod:`libext.harvesting`; every view is
for administrators only (401 anonymous, 403 others).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional

from libext.auth import admin_required
from libext.db import get_session
from libext.harvest_sources import (
    SourceError,
    add_source,
    edit_source,
    find,
    list_sources,
    recent_runs,
    remove_source,
)
from libext.harvesting import start_in_background

bp = Blueprint("libext_admin", __name__, template_folder="templates")


class SourceForm(FlaskForm):
    """A harvest source: the library it harvests for and the repository's address."""

    code = StringField(_l("Mã thư viện"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Tên thư viện"), validators=[Optional(), Length(max=255)])
    url = StringField(_l("Địa chỉ OAI-PMH"), validators=[DataRequired(), Length(max=1024)])
    prefix = StringField(_l("Định dạng (metadataPrefix)"), validators=[Optional(), Length(max=64)])
    set_spec = StringField(_l("Tập (set)"), validators=[Optional(), Length(max=255)])


class EditForm(FlaskForm):
    """Changes to a source; an empty URL or prefix keeps the current one."""

    name = StringField(_l("Tên thư viện"), validators=[Optional(), Length(max=255)])
    url = StringField(_l("Địa chỉ OAI-PMH"), validators=[Optional(), Length(max=1024)])
    prefix = StringField(_l("Định dạng (metadataPrefix)"), validators=[Optional(), Length(max=64)])
    set_spec = StringField(_l("Tập (set)"), validators=[Optional(), Length(max=255)])
    enabled = BooleanField(_l("Thu thập trong lượt hằng đêm (--all)"))


class ActionForm(FlaskForm):
    """Only the CSRF token: remove and "harvest now" are POSTs."""


@bp.get("/")
@admin_required
def index() -> ResponseReturnValue:
    """The administration home: the harvest sources."""
    return redirect(url_for("libext_admin.sources"))


@bp.route("/sources", methods=["GET", "POST"])
@admin_required
def sources() -> ResponseReturnValue:
    """Every source with its last run and last success; the form to add one."""
    form = SourceForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            add_source(
                get_session(),
                form.code.data.strip(),
                form.url.data.strip(),
                prefix=(form.prefix.data or "").strip() or None,
                set_spec=(form.set_spec.data or "").strip() or None,
                name=form.name.data,
                config=current_app.config,
            )
        except SourceError as exc:
            get_session().rollback()
            error, status = str(exc), 400
        else:
            flash(_("Đã thêm nguồn %(code)s.", code=form.code.data.strip()))
            return redirect(url_for("libext_admin.sources"))
    elif form.is_submitted():
        status = 400
    rows = list_sources(get_session())
    return (
        render_template(
            "libext/admin/sources.html", rows=rows, form=form, error=error, actions=ActionForm()
        ),
        status,
    )


@bp.route("/sources/<code>", methods=["GET", "POST"])
@admin_required
def source(code: str) -> ResponseReturnValue:
    """One source: its settings (editable) and its recent runs with their errors."""
    session = get_session()
    item = find(session, code)
    if item is None:
        abort(404)
    form = EditForm(obj=None)
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            edit_source(
                session,
                code,
                url=(form.url.data or "").strip() or None,
                prefix=(form.prefix.data or "").strip() or None,
                set_spec=form.set_spec.data.strip() if form.set_spec.data is not None else None,
                name=form.name.data,
                enabled=form.enabled.data,
                config=current_app.config,
            )
        except SourceError as exc:
            session.rollback()
            error, status = str(exc), 400
        else:
            flash(_("Đã lưu nguồn %(code)s.", code=code))
            return redirect(url_for("libext_admin.source", code=code))
    elif form.is_submitted():
        status = 400
    else:
        form.name.data = item.library.name
        form.url.data = item.url
        form.prefix.data = item.metadata_prefix
        form.set_spec.data = item.set_spec or ""
        form.enabled.data = item.enabled
    item = find(session, code)
    return (
        render_template(
            "libext/admin/source.html",
            source=item,
            runs=recent_runs(session, code),
            form=form,
            error=error,
            actions=ActionForm(),
        ),
        status,
    )


@bp.post("/sources/<code>/remove")
@admin_required
def remove(code: str) -> ResponseReturnValue:
    """Remove a source and its log; the library's records stay."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        remove_source(get_session(), code)
    except SourceError:
        abort(404)
    flash(_("Đã xoá nguồn %(code)s; biểu ghi của thư viện vẫn được giữ.", code=code))
    return redirect(url_for("libext_admin.sources"))


@bp.post("/sources/<code>/harvest")
@admin_required
def harvest(code: str) -> ResponseReturnValue:
    """Start harvesting one source now, in the background."""
    if not ActionForm().validate_on_submit():
        abort(400)
    item = find(get_session(), code)
    if item is None:
        abort(404)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if start_in_background(app, item.id):
        flash(_("Đang thu thập %(code)s; tải lại trang để xem kết quả.", code=code))
    else:
        flash(_("%(code)s đang được thu thập.", code=code))
    return redirect(url_for("libext_admin.source", code=code))
