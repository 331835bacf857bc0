"""The public pages: the union catalogue's home page."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from libext.db import get_session
from libext.models import Library, Record

bp = Blueprint("libext_search", __name__, template_folder="templates")


@bp.get("/")
def index() -> str:
    """Home page: the network's libraries and how many records each has."""
    session = get_session()
    counts = dict(
        session.execute(
            select(Record.library_id, func.count(Record.id))
            .where(Record.deleted.is_(False))
            .group_by(Record.library_id)
        ).all()
    )
    libraries = [
        (lib, counts.get(lib.id, 0))
        for lib in session.scalars(select(Library).order_by(Library.id))
    ]
    return render_template("libext/search/index.html", libraries=libraries)
