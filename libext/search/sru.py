"""SRU 1.2 ``searchRetrieve`` and ``explain`` responses (namespace ``http://www.loc.gov/zing/srw/``).

Argument checking, CQL (:mod:`libext.search.cql`), searching and XML building live here; the
view in ``blueprints/sru.py`` only passes the request arguments. As the standard asks, every
problem is a diagnostic inside an HTTP 200 response, never an HTTP error. One record is
returned per edition: the cluster's most complete member, so a cataloguer copies the best
description the province has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import pymarc
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from libext.models import Record
from libext.models.search import SearchCluster
from libext.search.cql import CQLError, cql_to_queries
from libext.search.engine import SearchRequest, engine_for
from libext.search.query import parse_query
from marc.writer import record_to_xml_element
from oai.crosswalk import dublin_core

__all__ = ["SRU_NS", "SruSettings", "explain", "handle", "search_retrieve"]

SRU_NS = "http://www.loc.gov/zing/srw/"
DIAG_NS = "http://www.loc.gov/zing/srw/diagnostic/"
ZR_NS = "http://explain.z3950.org/dtd/2.0/"
MARC_NS = "http://www.loc.gov/MARC21/slim"
SRW_DC_NS = "info:srw/schema/1/dc-schema"
DC_NS = "http://purl.org/dc/elements/1.1/"

#: recordSchema names and identifiers accepted → canonical short name.
SCHEMAS = {
    "marcxml": "marcxml",
    "marc21": "marcxml",
    "info:srw/schema/1/marcxml-v1.1": "marcxml",
    "dc": "dc",
    "info:srw/schema/1/dc-v1.1": "dc",
}
SCHEMA_IDS = {"marcxml": "info:srw/schema/1/marcxml-v1.1", "dc": "info:srw/schema/1/dc-v1.1"}

_MESSAGES = {
    1: "General system error",
    4: "Unsupported operation",
    5: "Unsupported version",
    6: "Unsupported parameter value",
    7: "Mandatory parameter not supplied",
    8: "Unsupported parameter",
    61: "First record position out of range",
    66: "Unknown schema for retrieval",
    71: "Unsupported record packing",
}
#: Each OR branch contributes at most this many editions.
BRANCH_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class SruSettings:
    """What the explain record announces and the limits applied."""

    base_url: str
    title: str = "Union catalogue"
    default_records: int = 10
    max_records: int = 50


@dataclass(slots=True)
class _Diagnostic:
    code: int
    details: str = ""
    message: str = ""


# Characters XML 1.0 cannot carry; a client's arguments are echoed back and may hold them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _el(parent: etree._Element, tag: str, text: object = None, ns: str = SRU_NS) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        child.text = _XML_ILLEGAL.sub("\ufffd", str(text))
    return child


def _diagnostics(parent: etree._Element, diags: list[_Diagnostic]) -> None:
    if not diags:
        return
    box = _el(parent, "diagnostics")
    for d in diags:
        diag = etree.SubElement(box, f"{{{DIAG_NS}}}diagnostic", nsmap={"diag": DIAG_NS})
        _el(diag, "uri", f"info:srw/diagnostic/1/{d.code}", DIAG_NS)
        if d.details:
            _el(diag, "details", d.details, DIAG_NS)
        _el(diag, "message", d.message or _MESSAGES.get(d.code, "Error"), DIAG_NS)


def _root(name: str) -> etree._Element:
    root = etree.Element(f"{{{SRU_NS}}}{name}", nsmap={"srw": SRU_NS})
    _el(root, "version", "1.2")
    return root


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _int_arg(args: Mapping[str, str], name: str, default: int) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    # No result set reaches past this, and larger values overflow the database's integers:
    # answered with the "unsupported parameter value" diagnostic like any other bad value.
    return value if abs(value) <= 2**31 - 1 else None


def _dc_element(record: pymarc.Record) -> etree._Element:
    root = etree.Element(f"{{{SRW_DC_NS}}}dc", nsmap={"srw_dc": SRW_DC_NS, "dc": DC_NS})
    for element, values in dublin_core(record).items():
        for value in values:
            etree.SubElement(root, f"{{{DC_NS}}}{element}").text = value
    return root


def _record_data(record: Record, schema: str) -> etree._Element | None:
    try:
        parsed = pymarc.Record(data=record.marc, to_unicode=True, force_utf8=True)
    except Exception:
        return None
    return record_to_xml_element(parsed) if schema == "marcxml" else _dc_element(parsed)


def search_retrieve(session: Session, args: Mapping[str, str], settings: SruSettings) -> bytes:
    """A ``searchRetrieveResponse`` for the request arguments."""
    root = _root("searchRetrieveResponse")
    diags: list[_Diagnostic] = []
    schema_name = args.get("recordSchema") or "marcxml"
    schema = SCHEMAS.get(schema_name.lower())
    packing = args.get("recordPacking") or "xml"
    start = _int_arg(args, "startRecord", 1)
    maximum = _int_arg(args, "maximumRecords", settings.default_records)
    if schema is None:
        diags.append(_Diagnostic(66, schema_name))
    if packing not in ("xml", "string"):
        diags.append(_Diagnostic(71, packing))
    if start is None or start < 1:
        diags.append(_Diagnostic(6, "startRecord"))
    if maximum is None or maximum < 0:
        diags.append(_Diagnostic(6, "maximumRecords"))
    queries: list[str] = []
    try:
        queries = cql_to_queries(args.get("query", ""))
    except CQLError as exc:
        diags.append(_Diagnostic(exc.code, exc.details, exc.message))
    if diags:
        _el(root, "numberOfRecords", 0)
        _diagnostics(root, diags)
        return _bytes(root)
    assert start is not None and maximum is not None and schema is not None
    maximum = min(maximum, settings.max_records)
    total, ids = _run(session, queries, start - 1 + maximum)
    _el(root, "numberOfRecords", total)
    page = ids[start - 1 : start - 1 + maximum]
    if start > 1 and start > total:
        diags.append(_Diagnostic(61, str(start)))
    if page:
        records = _el(root, "records")
        reps = dict(
            session.execute(
                select(SearchCluster.id, Record)
                .join(Record, Record.id == SearchCluster.representative_id)
                .where(SearchCluster.id.in_(page))
            ).all()
        )
        for position, cluster_id in enumerate(page, start=start):
            record = reps.get(cluster_id)
            data = _record_data(record, schema) if record is not None else None
            item = _el(records, "record")
            _el(item, "recordSchema", SCHEMA_IDS[schema])
            _el(item, "recordPacking", packing)
            holder = _el(item, "recordData")
            if data is None:
                holder.text = ""
            elif packing == "string":
                holder.text = etree.tostring(data, encoding="unicode")
            else:
                holder.append(data)
            _el(item, "recordPosition", position)
    if start - 1 + len(page) < total:
        _el(root, "nextRecordPosition", start + len(page))
    echo = _el(root, "echoedSearchRetrieveRequest")
    _el(echo, "version", "1.2")
    _el(echo, "query", args.get("query", ""))
    _el(echo, "startRecord", start)
    _el(echo, "maximumRecords", maximum)
    _el(echo, "recordPacking", packing)
    _el(echo, "recordSchema", schema_name)
    _diagnostics(root, diags)
    return _bytes(root)


def _run(session: Session, queries: list[str], needed: int) -> tuple[int, list[int]]:
    """Total and cluster ids of the union of the queries (relevance order within each)."""
    engine = engine_for(session)
    if len(queries) == 1:
        hits = engine.search(
            session,
            SearchRequest(
                query=parse_query(queries[0]),
                size=max(needed, 1),
                with_facets=False,
                exact_total=True,  # numberOfRecords drives the client's paging
            ),
        )
        return hits.total, hits.cluster_ids
    merged: dict[int, None] = {}
    for text in queries:
        hits = engine.search(
            session,
            SearchRequest(query=parse_query(text), size=BRANCH_LIMIT, with_facets=False),
        )
        merged.update(dict.fromkeys(hits.cluster_ids))
    ids = list(merged)
    return len(ids), ids


def explain(settings: SruSettings) -> bytes:
    """An ``explainResponse`` describing indexes, schemas and limits (ZeeRex 2.0)."""
    from urllib.parse import urlsplit

    root = _root("explainResponse")
    record = _el(root, "record")
    _el(record, "recordSchema", ZR_NS)
    _el(record, "recordPacking", "xml")
    data = _el(record, "recordData")
    zr = etree.SubElement(data, f"{{{ZR_NS}}}explain", nsmap={"zr": ZR_NS})
    url = urlsplit(settings.base_url)
    server = _el(zr, "serverInfo", ns=ZR_NS)
    server.set("protocol", "SRU")
    server.set("version", "1.2")
    server.set("transport", url.scheme or "http")
    _el(server, "host", url.hostname or "localhost", ZR_NS)
    _el(server, "port", url.port or (443 if url.scheme == "https" else 80), ZR_NS)
    _el(server, "database", url.path.lstrip("/") or "sru", ZR_NS)
    info = _el(zr, "databaseInfo", ns=ZR_NS)
    title = _el(info, "title", settings.title, ZR_NS)
    title.set("primary", "true")
    index_info = _el(zr, "indexInfo", ns=ZR_NS)
    for name, identifier in (
        ("cql", "info:srw/cql-context-set/1/cql-v1.2"),
        ("dc", "info:srw/cql-context-set/1/dc-v1.1"),
        ("bath", "http://zing.z3950.org/cql/bath/2.0/"),
    ):
        ctx = _el(index_info, "set", ns=ZR_NS)
        ctx.set("name", name)
        ctx.set("identifier", identifier)
    for set_name, index, label in (
        ("cql", "anywhere", "Any field"),
        ("cql", "serverChoice", "Any field"),
        ("dc", "title", "Title"),
        ("dc", "creator", "Author"),
        ("dc", "subject", "Subject"),
        ("bath", "isbn", "ISBN (10 or 13 digits, hyphens optional)"),
    ):
        entry = _el(index_info, "index", ns=ZR_NS)
        entry.set("search", "true")
        _el(entry, "title", label, ZR_NS)
        mapping = _el(entry, "map", ns=ZR_NS)
        _el(mapping, "name", index, ZR_NS).set("set", set_name)
    schema_info = _el(zr, "schemaInfo", ns=ZR_NS)
    for name, label in (("marcxml", "MARCXML (MARC 21 slim)"), ("dc", "Dublin Core")):
        schema = _el(schema_info, "schema", ns=ZR_NS)
        schema.set("identifier", SCHEMA_IDS[name])
        schema.set("name", name)
        schema.set("retrieve", "true")
        _el(schema, "title", label, ZR_NS)
    config = _el(zr, "configInfo", ns=ZR_NS)
    _el(config, "default", settings.default_records, ZR_NS).set("type", "numberOfRecords")
    _el(config, "setting", settings.max_records, ZR_NS).set("type", "maximumRecords")
    _el(config, "default", "marcxml", ZR_NS).set("type", "retrieveSchema")
    return _bytes(root)


def handle(session: Session, args: Mapping[str, str], settings: SruSettings) -> bytes:
    """Dispatch an SRU request by ``operation`` (explain when there is none)."""
    operation = args.get("operation") or ("searchRetrieve" if args.get("query") else "explain")
    version = args.get("version") or "1.2"
    if version not in ("1.1", "1.2"):
        root = _root(
            "searchRetrieveResponse" if operation == "searchRetrieve" else "explainResponse"
        )
        _diagnostics(root, [_Diagnostic(5, "1.2")])
        return _bytes(root)
    if operation == "explain":
        return explain(settings)
    if operation == "searchRetrieve":
        return search_retrieve(session, args, settings)
    root = _root("explainResponse")
    _diagnostics(root, [_Diagnostic(4, operation)])
    return _bytes(root)
