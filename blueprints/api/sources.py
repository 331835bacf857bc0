"""``/api/sources``: the harvest sources as JSON (administrators only).

``GET /sources`` lists them with their last run; ``POST /sources`` adds one (validated against
the repository); ``GET|PATCH|DELETE /sources/<code>``; ``GET /sources/<code>/runs`` is the run
log; ``POST /sources/<code>/harvest`` starts a harvest in the background (202).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from blueprints.api import bp
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
from libext.models import HarvestSource

_FIELDS = {"code", "url", "prefix", "set", "name", "enabled"}


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="send a JSON object")
    unknown = set(data) - _FIELDS
    if unknown:
        abort(400, description=f"unknown fields: {', '.join(sorted(unknown))}")
    for key, value in data.items():
        if key == "enabled":
            if not isinstance(value, bool):
                abort(400, description="'enabled' must be true or false")
        elif value is not None and not isinstance(value, str):
            abort(400, description=f"{key!r} must be a string")
    return data


def _source_or_404(code: str) -> HarvestSource:
    item = find(get_session(), code)
    if item is None:
        abort(404, description=f"library {code} has no harvest source")
    return item


@bp.get("/sources")
@admin_required
def sources_list() -> ResponseReturnValue:
    """Every source with its last run and last success."""
    return jsonify({"sources": list_sources(get_session())})


@bp.post("/sources")
@admin_required
def sources_add() -> ResponseReturnValue:
    """Add a source: ``{"code", "url", "prefix"?, "set"?, "name"?}``."""
    data = _body()
    if not data.get("code") or not data.get("url"):
        abort(400, description="'code' and 'url' are required")
    session = get_session()
    try:
        item = add_source(
            session,
            data["code"],
            data["url"],
            prefix=data.get("prefix") or None,
            set_spec=data.get("set") or None,
            name=data.get("name"),
            config=current_app.config,
        )
    except SourceError as exc:
        session.rollback()
        abort(400, description=str(exc))
    return jsonify(item.to_dict()), 201


@bp.get("/sources/<code>")
@admin_required
def sources_get(code: str) -> ResponseReturnValue:
    """One source and its ten latest runs."""
    item = _source_or_404(code)
    runs = [run.to_dict() for run in recent_runs(get_session(), code, limit=10)]
    return jsonify({"source": item.to_dict(), "runs": runs})


@bp.patch("/sources/<code>")
@admin_required
def sources_edit(code: str) -> ResponseReturnValue:
    """Change ``url``, ``prefix``, ``set``, ``name`` or ``enabled``."""
    data = _body()
    _source_or_404(code)
    session = get_session()
    try:
        item = edit_source(
            session,
            code,
            url=data.get("url"),
            prefix=data.get("prefix"),
            set_spec=data.get("set"),
            name=data.get("name"),
            enabled=data.get("enabled"),
            config=current_app.config,
        )
    except SourceError as exc:
        session.rollback()
        abort(400, description=str(exc))
    return jsonify(item.to_dict())


@bp.delete("/sources/<code>")
@admin_required
def sources_remove(code: str) -> ResponseReturnValue:
    """Remove a source and its log; the library's records stay."""
    _source_or_404(code)
    remove_source(get_session(), code)
    return jsonify({"removed": code})


@bp.get("/sources/<code>/runs")
@admin_required
def sources_runs(code: str) -> ResponseReturnValue:
    """The source's run log, newest first (``?limit=``, at most 500)."""
    _source_or_404(code)
    limit = request.args.get("limit", "50")
    if not limit.isdigit() or not 1 <= int(limit) <= 500:
        abort(400, description="'limit' must be a number from 1 to 500")
    runs = recent_runs(get_session(), code, limit=int(limit))
    return jsonify({"runs": [run.to_dict() for run in runs]})


@bp.post("/sources/<code>/harvest")
@admin_required
def sources_harvest(code: str) -> ResponseReturnValue:
    """Start harvesting the source in the background: 202, or 409 when already running."""
    item = _source_or_404(code)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not start_in_background(app, item.id):
        abort(409, description=f"{code} is already being harvested")
    return jsonify({"started": code}), 202
