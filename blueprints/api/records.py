"""``/api/records/<id>``: one record as JSON (read); other features add their own verbs here."""

from __future__ import annotations

import pymarc
from flask import abort, current_app, jsonify, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from blueprints.api import bp
from libext.auth import cataloguer_required, require_library
from libext.db import get_session
from libext.models import Record
from libext.models.search import SearchCluster, SearchMember
from libext.search.service import cluster_members, holders_of
from marc.extract import extract
from marc.writer import record_to_dict


@bp.get("/records/<int:record_id>")
def get_record(record_id: int) -> ResponseReturnValue:
    """The record's description, MARC-in-JSON, its edition cluster and holding libraries.

    A withdrawn record answers 410 with its id, so clients can tell it from a wrong id (404).
    """
    session = get_session()
    record = session.scalar(
        select(Record).where(Record.id == record_id).options(selectinload(Record.holdings))
    )
    if record is None:
        abort(404, description=f"No record {record_id}.")
    if record.deleted:
        abort(410, description=f"Record {record_id} was withdrawn by its library.")
    try:
        marc = pymarc.Record(data=record.marc, to_unicode=True, force_utf8=True)
    except Exception:
        abort(422, description=f"Record {record_id}'s MARC data cannot be read.")
    data = extract(marc)
    member = session.get(SearchMember, record.id)
    cluster = session.get(SearchCluster, member.cluster_id) if member else None
    members = cluster_members(session, [cluster.id])[cluster.id] if cluster else [record]
    return jsonify(
        {
            "id": record.id,
            "library": {"code": record.library.code, "name": record.library.name},
            "local_id": record.local_id,
            "title": data.title,
            "authors": data.authors,
            "year": data.year,
            "isbns": data.isbns,
            "issns": data.issns,
            "publisher": data.publisher,
            "place": data.place,
            "edition": data.edition,
            "extent": data.extent,
            "language": data.language,
            "type": data.material_type,
            "subjects": data.subjects,
            "cluster": {
                "id": cluster.id,
                "key": cluster.key,
                "representative": cluster.representative_id,
                "members": [
                    {"id": m.id, "library": m.library.code} for m in members if m.id != record.id
                ],
            }
            if cluster
            else None,
            "libraries": [
                {"code": h.code, "name": h.name, "call_number": h.call_number}
                for h in holders_of(members)
            ],
            "marc": record_to_dict(marc),
            "links": {
                "html": url_for("libext_search.record_page", record_id=record.id, _external=True),
                "marc": url_for(
                    "libext_search.download", record_id=record.id, fmt="mrc", _external=True
                ),
                "marcxml": url_for(
                    "libext_search.download", record_id=record.id, fmt="xml", _external=True
                ),
            },
        }
    )


@bp.delete("/records/<int:record_id>")
@cataloguer_required
def delete_record(record_id: int) -> ResponseReturnValue:
    """Withdraw a record (cataloguers of its library, administrators).

    The record stays in the store marked deleted with a new datestamp, so OAI-PMH harvesters
    see the deletion. Deleting a deleted record changes nothing (``"changed": false``).
    """
    session = get_session()
    record = session.get(Record, record_id)
    if record is None:
        abort(404, description=f"No record {record_id}.")
    require_library(record.library.code)
    store = current_app.extensions["libext"].store()
    changed = store.delete(record)
    store.flush()
    session.commit()
    repository = current_app.config["LIBEXT_OAI_REPOSITORY_IDENTIFIER"]
    return jsonify(
        {
            "id": record.id,
            "library": record.library.code,
            "deleted": True,
            "changed": changed,
            "datestamp": record.datestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "oai_identifier": f"oai:{repository}:{record.id}",
        }
    )
