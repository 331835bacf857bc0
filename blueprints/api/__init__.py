"""The JSON API (``/api``): thin views; errors answered as JSON with the right status.

Routes live in modules of this package (records, imports, export, search, sources), each
adding to :data:`bp`.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from libext.db import get_session
from libext.models import Library

bp = Blueprint("libext_api", __name__)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    """Every HTTP error of the API as ``{"error": {"code", "name", "message"}}``."""
    body = {"error": {"code": exc.code, "name": exc.name, "message": exc.description}}
    response = jsonify(body)
    response.status_code = exc.code or 500
    if exc.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="libext"'
    return response


@bp.get("/libraries")
def libraries() -> ResponseReturnValue:
    """The network's libraries."""
    rows = get_session().scalars(select(Library).order_by(Library.code))
    return jsonify({"libraries": [lib.to_dict() for lib in rows]})


# Route modules register themselves on ``bp``.
from blueprints.api import routes  # noqa: E402, F401
