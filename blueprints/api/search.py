"""``GET /api/search``: the union catalogue's search as JSON (same engine as the web page)."""

from __future__ import annotations

from flask import abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from blueprints.api import bp
from blueprints.search import request_filters
from libext.db import get_session
from libext.search.engine import SORTS
from libext.search.labels import notice_text
from libext.search.service import MAX_PAGE_SIZE, run_search


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, description=f"'{name}' must be a whole number, not {raw[:40]!r}.")
    if not low <= value <= high:
        abort(400, description=f"'{name}' must be between {low} and {high}.")
    return value


@bp.get("/search")
def search() -> ResponseReturnValue:
    """``?q=&library=&type=&lang=&decade=&subject=&author=&sort=&page=&size=``.

    Answers ``{"total", "page", "size", "results": [...], "facets": {...}, "notices": [...]}``;
    a bad ``page``/``size``/``sort`` is a 400 with a JSON error, never a 500.
    """
    sort = request.args.get("sort", "relevance") or "relevance"
    if sort not in SORTS:
        abort(400, description=f"'sort' must be one of {', '.join(SORTS)}.")
    config = current_app.config
    results = run_search(
        get_session(),
        request.args.get("q", ""),
        filters=request_filters(request.args),
        sort=sort,
        page=_int("page", 1, 1, 100_000),
        size=_int("size", config["LIBEXT_SEARCH_PAGE_SIZE"], 1, MAX_PAGE_SIZE),
        facet_size=config["LIBEXT_SEARCH_FACET_SIZE"],
        facet_sample=config["LIBEXT_SEARCH_FACET_SAMPLE"],
    )
    return jsonify(
        {
            "total": results.total,
            "total_exact": results.total_exact,
            "page": results.page,
            "size": results.size,
            "results": [r.to_dict() for r in results.results],
            "facets": {
                name: [{"value": fv.value, "count": fv.count} for fv in values]
                for name, values in results.facets.items()
            },
            "facets_exact": results.facets_exact,
            "notices": [{"code": n.code, "message": notice_text(n)} for n in results.notices],
        }
    )
