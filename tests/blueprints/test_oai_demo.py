"""The demo network (real records of seven Hà Nam libraries) harvested page by page: every
response schema-valid, every record once, the demo's withdrawn records as deletions."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from libext.demo import load_demo
from libext.models import Record
from tests.blueprints.oai_support import validated
from tests.oai.conftest import OAI, error_codes, identifiers, token_of


def harvest_all(client: FlaskClient, verb: str, prefix: str) -> tuple[list[str], int]:
    """Every identifier of a list (each page validated) and how many were deletions."""
    root = validated(client.get(f"/oai?verb={verb}&metadataPrefix={prefix}").data)
    seen, deleted = [], 0
    while True:
        assert error_codes(root) == []
        seen += identifiers(root)
        deleted += sum(1 for h in root.iter(f"{OAI}header") if h.get("status") == "deleted")
        token = token_of(root)
        if token is None or not token.text:
            return seen, deleted
        root = validated(client.get(f"/oai?verb={verb}&resumptionToken={token.text}").data)


def test_demo_network_is_harvested_schema_valid(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        report = load_demo(app.extensions["libext"])
        session = app.extensions["libext"].db.session
        total = session.scalar(select(func.count(Record.id)))
        withdrawn = session.scalar(select(func.count(Record.id)).where(Record.deleted))
    assert report["deleted"] == withdrawn > 0
    app.config["LIBEXT_OAI_PAGE_SIZE"] = 50
    for verb, prefix in (
        ("ListRecords", "marc21"),
        ("ListRecords", "oai_dc"),
        ("ListIdentifiers", "marcxml"),
    ):
        seen, deleted = harvest_all(client, verb, prefix)
        assert len(seen) == len(set(seen)) == total
        assert deleted == withdrawn
    sets = validated(client.get("/oai?verb=ListSets").data)
    specs = [s.findtext(f"{OAI}setSpec") for s in sets.iter(f"{OAI}set")]
    library_sets = [s for s in specs if s.startswith("library:")]
    assert len(library_sets) == 7
    for spec in library_sets:
        root = validated(
            client.get(f"/oai?verb=ListIdentifiers&metadataPrefix=oai_dc&set={spec}").data
        )
        assert error_codes(root) in ([], ["noRecordsMatch"])
