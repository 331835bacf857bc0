"""SRU 1.2 at ``/sru``: ``searchRetrieve`` and ``explain`` for copy cataloguing from any ILS."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from flask_babel import gettext as _

from libext.db import get_session
from libext.search.sru import SruSettings, handle

bp = Blueprint("libext_sru", __name__)


@bp.route("", methods=["GET", "POST"], strict_slashes=False)
def sru() -> Response:
    """Answer an SRU request; problems are diagnostics in an HTTP 200 response (SRU 1.2)."""
    args = request.values.to_dict(flat=True)
    settings = SruSettings(
        base_url=request.base_url,
        title=_("Mục lục liên hợp"),
        max_records=int(current_app.config["LIBEXT_SEARCH_SRU_MAX_RECORDS"]),
    )
    body = handle(get_session(), args, settings)
    return Response(body, mimetype="text/xml", content_type="text/xml; charset=utf-8")
