"""SRU 1.2 at /sru: CQL subset, schemas, diagnostics, and a real SRU client (yaz-client)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from lxml import etree
from werkzeug.serving import make_server

from libext.search.cql import CQLError, cql_to_queries
from tests.paths import XSD_DIR

NS = {
    "srw": "http://www.loc.gov/zing/srw/",
    "diag": "http://www.loc.gov/zing/srw/diagnostic/",
    "marc": "http://www.loc.gov/MARC21/slim",
    "dc": "http://purl.org/dc/elements/1.1/",
    "zr": "http://explain.z3950.org/dtd/2.0/",
}


@pytest.mark.parametrize(
    ("cql", "queries"),
    [
        ("kieu", ["kieu"]),
        ("dc.title = kieu", ["title:kieu"]),
        ('dc.title = "truyện kiều"', ["title:truyện title:kiều"]),
        ('dc.title adj "truyện kiều"', ['title:"truyện kiều"']),
        ('dc.creator exact "Nguyễn Du"', ['author:"Nguyễn Du"']),
        ("dc.title=kieu and dc.creator=du", ["title:kieu author:du"]),
        ("dc.title=kieu or bath.isbn=0300040512", ["title:kieu", "isbn:0300040512"]),
        ("(a or b) and c", ["a c", "b c"]),
        ('cql.anywhere any "a b"', ["a", "b"]),
        ("DC.TITLE=x AND dc.subject=y", ["title:x subject:y"]),
        ("dc.title =/relevant kieu", ["title:kieu"]),
    ],
)
def test_cql_subset(cql: str, queries: list[str]) -> None:
    assert cql_to_queries(cql) == queries


@pytest.mark.parametrize(
    ("cql", "code"),
    [
        ("", 7),
        ("(kieu", 10),
        ("kieu)", 10),
        ("dc.title =", 10),
        ("foo.bar = x", 16),
        ("dc.title within x", 19),
        ("a not b", 37),
        ("a prox b", 37),
        ("dc.title = *", 10),
        (" or ".join(f"w{i}" for i in range(40)), 10),
        ('"unterminated', 10),
    ],
)
def test_cql_errors_are_diagnostics(cql: str, code: int) -> None:
    with pytest.raises(CQLError) as info:
        cql_to_queries(cql)
    assert info.value.code == code


def sru(demo_app: Flask, **params: str) -> etree._Element:
    response = demo_app.test_client().get("/sru", query_string=params)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return etree.fromstring(response.data)


def diagnostics(root: etree._Element) -> list[str]:
    return [u.text.rsplit("/", 1)[-1] for u in root.findall(".//diag:uri", NS)]


def test_explain(demo_app: Flask) -> None:
    root = sru(demo_app)
    assert root.tag == "{http://www.loc.gov/zing/srw/}explainResponse"
    names = {n.text for n in root.findall(".//zr:index/zr:map/zr:name", NS)}
    assert {"anywhere", "title", "creator", "subject", "isbn"} <= names
    schemas = {s.get("name") for s in root.findall(".//zr:schema", NS)}
    assert schemas == {"marcxml", "dc"}
    assert sru(demo_app, operation="explain", version="1.2").tag.endswith("explainResponse")


def test_search_retrieve_marcxml_validates(demo_app: Flask) -> None:
    root = sru(
        demo_app,
        operation="searchRetrieve",
        version="1.2",
        query='dc.title = "truyện kiều"',
        maximumRecords="2",
    )
    assert int(root.findtext("srw:numberOfRecords", namespaces=NS)) >= 2
    records = root.findall(".//srw:recordData/marc:record", NS)
    assert len(records) == 2
    schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "MARC21slim.xsd")))
    for record in records:
        assert schema.validate(etree.fromstring(etree.tostring(record))), schema.error_log
    positions = [int(p.text) for p in root.findall(".//srw:recordPosition", NS)]
    assert positions == [1, 2]
    assert root.findtext("srw:nextRecordPosition", namespaces=NS) == "3"


def test_search_retrieve_dc_and_paging(demo_app: Flask) -> None:
    first = sru(demo_app, operation="searchRetrieve", version="1.2", query="cql.anywhere=nguyen",
                recordSchema="dc", maximumRecords="3")  # fmt: skip
    second = sru(demo_app, operation="searchRetrieve", version="1.2", query="cql.anywhere=nguyen",
                 recordSchema="dc", maximumRecords="3", startRecord="4")  # fmt: skip
    titles1 = [t.text for t in first.findall(".//dc:title", NS)]
    titles2 = [t.text for t in second.findall(".//dc:title", NS)]
    assert len(titles1) == 3 and len(titles2) == 3 and not set(titles1) & set(titles2)


def test_isbn_and_or(demo_app: Flask) -> None:
    root = sru(demo_app, operation="searchRetrieve", version="1.2",
               query="bath.isbn=0-300-04051-2 or dc.creator=rowling")  # fmt: skip
    total = int(root.findtext("srw:numberOfRecords", namespaces=NS))
    assert total >= 3


def test_string_packing(demo_app: Flask) -> None:
    root = sru(demo_app, operation="searchRetrieve", version="1.2", query="kieu",
               recordPacking="string", maximumRecords="1")  # fmt: skip
    data = root.findtext(".//srw:recordData", namespaces=NS)
    assert data.startswith("<record") and "MARC21/slim" in data


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"operation": "searchRetrieve", "query": "foo.bar=x"}, "16"),
        ({"operation": "searchRetrieve", "query": "kieu", "recordSchema": "mods"}, "66"),
        ({"operation": "searchRetrieve", "query": "kieu", "startRecord": "0"}, "6"),
        ({"operation": "searchRetrieve", "query": "kieu", "maximumRecords": "x"}, "6"),
        ({"operation": "searchRetrieve", "query": "kieu", "recordPacking": "json"}, "71"),
        ({"operation": "searchRetrieve", "query": "kieu", "startRecord": "999"}, "61"),
        ({"operation": "searchRetrieve"}, "7"),
        ({"operation": "scan", "scanClause": "kieu"}, "4"),
        ({"operation": "searchRetrieve", "query": "kieu", "version": "2.0"}, "5"),
        ({"operation": "searchRetrieve", "query": "a not b"}, "37"),
    ],
)
def test_diagnostics_with_http_200(demo_app: Flask, params: dict[str, str], code: str) -> None:
    root = sru(demo_app, **params)
    assert code in diagnostics(root)


@pytest.fixture
def live_server(demo_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_yaz_client_copies_a_record(live_server: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("yaz-client") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("yaz-client is required under CI=true (Debian package 'yaz')")
        pytest.skip("yaz-client not installed (Debian package 'yaz'): SRU client test skipped")
    commands = tmp_path / "commands"
    commands.write_text(
        f"open {live_server}/sru\n"
        "sru get 1.2\n"
        "querytype cql\n"
        "schema marcxml\n"
        'find dc.title="truyện kiều" and dc.creator=nguyen\n'
        "show 1\n"
        "find bath.isbn=0300040512\n"
        "find foo.bar=x\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["yaz-client", "-f", str(commands)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    out = result.stdout
    assert "Number of hits: " in out, out[-2000:]
    hits = [
        int(line.split(":")[1]) for line in out.splitlines() if line.startswith("Number of hits:")
    ]
    assert hits[0] >= 1 and hits[1] >= 1
    assert '<datafield tag="245"' in out and "Kiều" in out
    assert "Unsupported index" in out or "16" in out
