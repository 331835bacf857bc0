"""The /oai endpoint over libext's store: HTTP behaviour, configuration, schema validity."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.blueprints.oai_support import delete_record, load_records, validated
from tests.conftest import make_app
from tests.oai.conftest import OAI, error_codes, identifiers, token_of

ID = "oai:libext.local"


def get(client: FlaskClient, query: str = "", path: str = "/oai"):  # type: ignore[no-untyped-def]
    response = client.get(f"{path}?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    return validated(response.data)


def test_identify_base_url_is_the_request_url(client: FlaskClient) -> None:
    root = get(client, "verb=Identify")
    assert root.findtext(f"{OAI}Identify/{OAI}baseURL") == "http://localhost/oai"
    assert root.findtext(f"{OAI}request") == "http://localhost/oai"
    response = client.get("/oai?verb=Identify", base_url="https://opac.hanam.example.vn:8443")
    root = validated(response.data)
    assert root.findtext(f"{OAI}Identify/{OAI}baseURL") == "https://opac.hanam.example.vn:8443/oai"


def test_base_url_pinned_for_a_proxy(app: Flask, client: FlaskClient) -> None:
    app.config["LIBEXT_OAI_BASE_URL"] = "https://thuvien.hanam.gov.vn/oai"
    root = get(client, "verb=Identify")
    assert root.findtext(f"{OAI}Identify/{OAI}baseURL") == "https://thuvien.hanam.gov.vn/oai"


def test_post_form_encoded_equals_get(app: Flask, client: FlaskClient) -> None:
    load_records(app, 5)
    by_get = get(client, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    response = client.post("/oai", data={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert identifiers(validated(response.data)) == identifiers(by_get)
    assert len(identifiers(by_get)) == 5


def test_verb_in_url_and_body_of_a_post_is_a_repeated_verb(client: FlaskClient) -> None:
    response = client.post("/oai?verb=Identify", data={"verb": "Identify"})
    assert error_codes(validated(response.data)) == ["badVerb"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "verb=%FF%FE",
        "verb=ListRecords&metadataPrefix=oai_dc&from=%00",
        "verb=GetRecord&identifier=%ED%A0%80&metadataPrefix=oai_dc",
        "verb=ListRecords&resumptionToken=" + "A" * 5000,
        "verb=ListRecords&metadataPrefix=oai_dc&set=library:HNM&set=",
        "verb=ListIdentifiers&metadataPrefix=oai_dc&until=99999-01-01",
        "%3D%3D%3D&&&=",
    ],
)
def test_odd_query_strings_get_an_oai_answer(client: FlaskClient, query: str) -> None:
    root = get(client, query)
    assert error_codes(root)


def test_trailing_slash_and_other_prefix(db_url: str) -> None:
    app = make_app(db_url, LIBEXT_URL_PREFIXES={"oai": "/pmh"})
    client = app.test_client()
    assert get(client, "verb=Identify", path="/pmh/") is not None
    assert client.get("/oai?verb=Identify").status_code == 404


def test_misconfiguration_is_a_503_not_a_500(app: Flask, client: FlaskClient) -> None:
    app.config["LIBEXT_OAI_REPOSITORY_IDENTIFIER"] = "not a domain"
    response = client.get("/oai?verb=Identify")
    assert response.status_code == 503
    assert response.headers["Retry-After"]


def test_store_records_sets_deletions_and_holdings(app: Flask, client: FlaskClient) -> None:
    ids = load_records(app, 30)
    delete_record(app, ids[3])
    app.config["LIBEXT_OAI_PAGE_SIZE"] = 12

    sets = get(client, "verb=ListSets")
    names = {
        s.findtext(f"{OAI}setSpec"): s.findtext(f"{OAI}setName") for s in sets.iter(f"{OAI}set")
    }
    assert names["library:HNM"] == "Thư viện tỉnh Hà Nam"
    assert {"library", "type", "library:DDA", "type:am", "type:em"} <= set(names)

    root = get(client, "verb=ListRecords&metadataPrefix=marc21")
    token = token_of(root)
    assert token.get("completeListSize") == "30" and token.get("cursor") == "0"
    assert len(identifiers(root)) == 12
    seen = identifiers(root)
    while token is not None and token.text:
        root = get(client, f"verb=ListRecords&resumptionToken={token.text}")
        seen += identifiers(root)
        token = token_of(root)
    # The deleted record comes last (its datestamp moved) with status="deleted".
    assert seen[-1] == f"{ID}:{ids[3]}"
    assert sorted(seen) == sorted(f"{ID}:{i}" for i in ids)
    last = list(root.iter(f"{OAI}record"))[-1]
    assert last.find(f"{OAI}header").get("status") == "deleted"

    record = get(client, f"verb=GetRecord&identifier={ID}:{ids[0]}&metadataPrefix=marcxml")
    marc = "{http://www.loc.gov/MARC21/slim}"
    holdings = record.findall(f".//{marc}datafield[@tag='852']")
    assert [h.findtext(f"{marc}subfield[@code='a']") for h in holdings] == ["HNM"]
    assert record.find(f".//{OAI}header").findall(f"{OAI}setSpec")[0].text == "library:HNM"

    dc = get(client, f"verb=GetRecord&identifier={ID}:{ids[0]}&metadataPrefix=oai_dc")
    assert dc.findtext(".//{http://purl.org/dc/elements/1.1/}title") == "Sách số 1"


def test_compression_when_the_harvester_accepts_it(app: Flask, client: FlaskClient) -> None:
    import gzip
    import zlib

    load_records(app, 20)
    query = "/oai?verb=ListRecords&metadataPrefix=marc21"
    plain = client.get(query)
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    zipped = client.get(query, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.data) * 4 < len(plain.data)
    assert identifiers(validated(gzip.decompress(zipped.data))) == identifiers(
        validated(plain.data)
    )
    deflated = client.get(query, headers={"Accept-Encoding": "deflate"})
    assert deflated.headers["Content-Encoding"] == "deflate"
    validated(zlib.decompress(deflated.data))
    identify = get(client, "verb=Identify")
    assert [c.text for c in identify.iter(f"{OAI}compression")] == ["gzip", "deflate"]
    app.config["LIBEXT_OAI_COMPRESSION"] = False
    assert "Content-Encoding" not in client.get(query, headers={"Accept-Encoding": "gzip"}).headers
    assert list(get(client, "verb=Identify").iter(f"{OAI}compression")) == []


def test_harvested_store_record_carries_provenance(app: Flask, client: FlaskClient) -> None:
    from sqlalchemy import select

    from libext.models import Library
    from oai.source import Provenance
    from tests.oai.memory_source import marc_record

    with app.app_context():
        state = app.extensions["libext"]
        session = state.db.session
        library = Library(code="DDA", name="Thư viện huyện Duy Tiên")
        session.add(library)
        session.flush()
        store = state.store()
        origin = Provenance(
            base_url="http://duytien.example.vn/oai",
            identifier="oai:duytien.example.vn:4711",
            datestamp="2024-05-06T07:08:09Z",
        )
        saved = store.save(library, marc_record(4711, "Sách gốc", "DDA"), provenance=origin)
        store.flush()
        session.commit()
        record_id = saved.record.id
        assert session.scalar(select(Library.code)) == "DDA"
    root = get(client, f"verb=GetRecord&identifier={ID}:{record_id}&metadataPrefix=marc21")
    prov = "{http://www.openarchives.org/OAI/2.0/provenance}"
    origin_el = root.find(f".//{OAI}about/{prov}provenance/{prov}originDescription")
    assert origin_el.findtext(f"{prov}baseURL") == "http://duytien.example.vn/oai"
    assert origin_el.findtext(f"{prov}identifier") == "oai:duytien.example.vn:4711"
    assert origin_el.findtext(f"{prov}datestamp") == "2024-05-06T07:08:09Z"
    assert origin_el.get("altered") == "false"
