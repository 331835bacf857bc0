"""DELETE /api/records/<id>: cataloguers withdraw records, which stay as OAI deletions."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.blueprints.oai_support import load_records, validated
from tests.oai.conftest import OAI, error_codes


def oai_status(client: FlaskClient, record_id: int) -> str | None:
    response = client.get(
        f"/oai?verb=GetRecord&identifier=oai:libext.local:{record_id}&metadataPrefix=oai_dc"
    )
    root = validated(response.data)
    assert error_codes(root) == []
    return root.find(f".//{OAI}header").get("status")


def test_cataloguer_of_the_library_deletes(
    app: Flask, client: FlaskClient, principal_headers: Callable[..., dict[str, str]]
) -> None:
    hnm, dda = load_records(app, 2)  # record 1 belongs to HNM, record 2 to DDA
    headers = principal_headers("lan", roles=["cataloguer"], libraries=["HNM"])
    assert oai_status(client, hnm) is None

    response = client.delete(f"/api/records/{hnm}", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["deleted"] is True and body["changed"] is True
    assert body["oai_identifier"] == f"oai:libext.local:{hnm}"
    assert oai_status(client, hnm) == "deleted"

    again = client.delete(f"/api/records/{hnm}", headers=headers)
    assert again.status_code == 200 and again.get_json()["changed"] is False

    # Another library's record: forbidden, and it stays.
    assert client.delete(f"/api/records/{dda}", headers=headers).status_code == 403
    assert oai_status(client, dda) is None


def test_who_may_not_delete(
    app: Flask, client: FlaskClient, principal_headers: Callable[..., dict[str, str]]
) -> None:
    (record_id,) = load_records(app, 1)
    assert client.delete(f"/api/records/{record_id}").status_code == 401
    reader = principal_headers("minh", roles=[], libraries=["HNM"])
    assert client.delete(f"/api/records/{record_id}", headers=reader).status_code == 403
    cataloguer = principal_headers("lan", roles=["cataloguer"], libraries=["HNM"])
    missing = client.delete("/api/records/999999", headers=cataloguer)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == 404
    assert oai_status(client, record_id) is None
    admin = principal_headers("root", roles=["admin"])
    assert client.delete(f"/api/records/{record_id}", headers=admin).status_code == 200
    assert oai_status(client, record_id) == "deleted"
