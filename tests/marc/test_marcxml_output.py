"""One MARCXML writer (``marc.marcxml_writer``) behind the exporter and the OAI crosswalk:
every readable record of the shared MARC files, exported as MARCXML by the exporter, validates
against MARC21slim.xsd; and ``marc`` never imports ``oai``."""

from __future__ import annotations

import ast
import io
from datetime import datetime
from pathlib import Path

import pymarc
import pytest
from lxml import etree

from libext.exporter import export
from marc.errors import UnusableInput
from marc.marcxml_writer import MARC_NS, marcxml_text
from marc.reader import MarcReader
from oai import crosswalk
from oai.source import SourceRecord
from tests.oai.memory_source import MemorySource
from tests.paths import MARC_DIR, REPO_ROOT, XSD_DIR

FILES = sorted(p for p in MARC_DIR.iterdir() if p.name != "SOURCES.txt")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / "MARC21slim.xsd")))


def _readable(path: Path) -> list[tuple[pymarc.Record, bytes]]:
    try:
        return [(r.record, r.marc) for r in MarcReader(path) if r.ok]
    except UnusableInput:  # the few files that are not MARC at all
        return []


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_shared_record_exports_as_valid_marcxml(path: Path, schema: etree.XMLSchema) -> None:
    readable = _readable(path)
    when = datetime(2024, 1, 1)
    # Half of the records hand out their stored bytes (what the store does), half only the
    # parsed record (what a host ILS may do): both paths of the exporter are covered.
    source = MemorySource(
        SourceRecord(i, when, False, record=rec, marc_bytes=marc if i % 2 else None)
        for i, (rec, marc) in enumerate(readable)
    )
    out = io.BytesIO()
    report = export(source, out, "marcxml")
    assert report.refused == []
    assert report.written == len(readable)
    document = etree.fromstring(out.getvalue())
    assert len(document) == len(readable)
    for i, element in enumerate(document):
        # validated one by one so a failure names the record
        single = etree.Element(f"{{{MARC_NS}}}collection", nsmap={None: MARC_NS})
        single.append(element)
        assert schema.validate(single), f"record {i + 1}: {schema.error_log.last_error}"


def test_oai_and_export_write_the_same_marcxml() -> None:
    # a record with every repair: interleaved control field, '#' indicators, bad subfield
    # code, control character, a tag XML cannot express, a field left with no subfield
    record = pymarc.Record(force_utf8=True)
    record.leader = pymarc.Leader("01234nam  2200301 a 4500")
    record.add_field(
        pymarc.Field("245", pymarc.Indicators("#", "0"), [pymarc.Subfield("a", "Lịch\x07 sử")]),
        pymarc.Field("001", data="x1"),
        pymarc.Field("650", pymarc.Indicators(" ", "7"), [pymarc.Subfield("\x01", "bad")]),
        pymarc.Field("aB1", pymarc.Indicators(" ", " "), [pymarc.Subfield("a", "odd tag")]),
    )
    stats: dict[str, int] = {}
    standalone = marcxml_text(record, stats=stats)
    assert crosswalk.marcxml_text(record) == standalone
    assert stats == {"stripped": 1, "dropped": 3}  # 1 char; 1 subfield, its field, 1 tag
    element = etree.fromstring(standalone)
    tags = [child.get("tag") for child in element][1:]
    assert tags == ["001", "245"]
    assert element[2].get("ind1") == " "

    out = io.BytesIO()
    report = export(
        MemorySource([SourceRecord(1, datetime(2024, 1, 1), False, record=record)]), out, "marcxml"
    )
    assert (report.stripped_characters, report.dropped) == (1, 3)
    exported = etree.fromstring(out.getvalue())[0]

    def shape(root: etree._Element) -> list[tuple[str, dict[str, str], str | None]]:
        # namespace prefixes differ (marc: in OAI, the default namespace in a collection)
        return [(e.tag, dict(e.attrib), e.text) for e in root.iter() if e is not root]

    assert shape(exported) == shape(element)


def test_marc_never_imports_oai_or_flask() -> None:
    for module in (REPO_ROOT / "marc").glob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top not in ("oai", "flask", "libext", "blueprints"), f"{module.name}: {name}"
