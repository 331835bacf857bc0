"""MARC → MARCXML and MARC → oai_dc over real records from other projects' test suites."""

from __future__ import annotations

import contextlib
import unicodedata
import warnings
from pathlib import Path

import pymarc
import pytest
from lxml import etree

from oai.crosswalk import MARC_NS, dublin_core, marcxml, oai_dc, repair_leader
from oai.source import HoldingInfo
from tests.oai.memory_source import marc_record
from tests.paths import MARC_DIR, XSD_DIR

M = f"{{{MARC_NS}}}"
MARC_SCHEMA = etree.XMLSchema(file=str(XSD_DIR / "local" / "MARC21slim.xsd"))
DC_SCHEMA = etree.XMLSchema(file=str(XSD_DIR / "local" / "oai_dc.xsd"))
ISO2709 = sorted(p for p in MARC_DIR.iterdir() if p.suffix in (".mrc", ".dat", ".marc", ".usmarc"))


def read_all(path: Path) -> list[pymarc.Record]:
    """Every record pymarc can make out of ``path``, broken ones skipped."""
    records: list[pymarc.Record] = []
    with warnings.catch_warnings(), path.open("rb") as handle:
        warnings.simplefilter("ignore")
        reader = pymarc.MARCReader(
            handle, to_unicode=True, force_utf8=True, utf8_handling="replace", permissive=True
        )
        # A file whose framing defeats pymarc part-way: keep what was read before.
        with contextlib.suppress(Exception):
            for record in reader:
                if record is not None:
                    records.append(record)
    return records


@pytest.mark.parametrize("path", ISO2709, ids=[p.name for p in ISO2709])
def test_every_real_record_gives_schema_valid_marcxml_and_oai_dc(path: Path) -> None:
    for record in read_all(path):
        xml = marcxml(record)
        assert MARC_SCHEMA.validate(xml), (path.name, str(MARC_SCHEMA.error_log.last_error))
        dc = oai_dc(record)
        assert DC_SCHEMA.validate(dc), (path.name, str(DC_SCHEMA.error_log.last_error))


def test_real_files_were_read() -> None:
    assert sum(len(read_all(p)) for p in ISO2709) > 1000


def test_summerland_golden_oai_dc() -> None:
    """LoC's sample record (marc4j__summerland.mrc): the crosswalk, element by element."""
    record = read_all(MARC_DIR / "marc4j__summerland.mrc")[0]
    assert dublin_core(record) == {
        "title": ["Summerland"],
        "creator": ["Chabon, Michael"],
        "subject": ["Fantasy", "Baseball--Fiction", "Magic--Fiction"],
        "description": [
            "Ethan Feld, the worst baseball player in the history of the game, finds himself "
            "recruited by a 100-year-old scout to help a band of fairies triumph over an "
            "ancient enemy"
        ],
        "publisher": ["New York : Miramax Books/Hyperion Books for Children"],
        "date": ["2002", "c2002"],
        "type": ["Text"],
        "identifier": ["0786808772", "0786816155 (pbk.)"],
        "language": ["eng"],
    }


def test_vietnamese_rda_record() -> None:
    record = marc_record(7, "Truyện Kiều", "HNM")
    record.add_field(
        pymarc.Field(
            tag="041",
            indicators=pymarc.Indicators("0", " "),
            subfields=[pymarc.Subfield("a", "viefre")],  # packed codes of older records
        ),
        pymarc.Field(
            tag="700",
            indicators=pymarc.Indicators("1", " "),
            subfields=[
                pymarc.Subfield("a", unicodedata.normalize("NFD", "Đào, Duy Anh,")),
                pymarc.Subfield("e", "chú giải."),
            ],
        ),
        pymarc.Field(
            tag="651",
            indicators=pymarc.Indicators(" ", "7"),
            subfields=[pymarc.Subfield("a", "Hà Nam"), pymarc.Subfield("x", "Lịch sử.")],
        ),
    )
    dc = dublin_core(record)
    assert dc["title"] == ["Truyện Kiều"]
    assert dc["creator"] == ["Nguyễn, Du, 1765-1820"]
    assert dc["contributor"] == ["Đào, Duy Anh"]  # NFC, relator term left out
    assert dc["publisher"] == ["Hà Nội : Văn học"]  # from 264 _1
    assert dc["date"] == ["2019"]  # 008/07-10 and 264 $c agree
    assert dc["language"] == ["vie", "fre"]
    assert dc["subject"] == ["Văn học Việt Nam--Thế kỷ 19"]
    assert dc["coverage"] == ["Hà Nam--Lịch sử"]  # the whole 651 heading
    assert dc["identifier"] == ["9786040000007"]


def test_leader_type_and_collection() -> None:
    record = marc_record(1, "Bản đồ tỉnh Hà Nam", "HNM", material="ec")
    assert dublin_core(record)["type"] == ["Image", "Collection"]
    record = marc_record(1, "Phần mềm", "HNM", material="mm")
    assert "type" not in dublin_core(record)  # leader/06 m: the crosswalk gives no type


def test_control_characters_are_dropped_and_blank_indicators_mended() -> None:
    record = marc_record(1, "Tiêu đề\x0b có\x1f ký tự\x00 điều khiển", "HNM")
    record.add_field(
        pymarc.Field(
            tag="500",
            indicators=pymarc.Indicators("#", "\\"),
            subfields=[pymarc.Subfield("a", "Ghi chú\x1e")],
        )
    )
    xml = marcxml(record)
    assert MARC_SCHEMA.validate(xml), MARC_SCHEMA.error_log
    assert xml.xpath("//marc:datafield[@tag='245']/marc:subfield[@code='a']/text()",
                     namespaces={"marc": MARC_NS}) == ["Tiêu đề có ký tự điều khiển /"]  # fmt: skip
    note = xml.find(f"{M}datafield[@tag='500']")
    assert (note.get("ind1"), note.get("ind2")) == (" ", " ")
    assert DC_SCHEMA.validate(oai_dc(record))


def test_holdings_replace_852_and_952() -> None:
    record = marc_record(1, "Truyện Kiều", "HNM")
    record.add_field(
        pymarc.Field(
            tag="952",
            indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("a", "HNM"), pymarc.Subfield("p", "old")],
        )
    )
    holdings = [
        HoldingInfo("HNM", "Thư viện tỉnh", "895.922 NG-D", "HNM00001", "Kho mở", "available"),
        HoldingInfo("DDA", "Thư viện huyện Duy Tiên", call_number="895.922"),
    ]
    xml = marcxml(record, holdings)
    assert MARC_SCHEMA.validate(xml)
    assert xml.findall(f"{M}datafield[@tag='952']") == []
    fields = xml.findall(f"{M}datafield[@tag='852']")
    assert [[(s.get("code"), s.text) for s in f] for f in fields] == [
        [("a", "HNM"), ("b", "Kho mở"), ("h", "895.922 NG-D"), ("p", "HNM00001"),
         ("z", "available")],
        [("a", "DDA"), ("h", "895.922")],
    ]  # fmt: skip
    # Without holdings from the source, the record's own 852 stays.
    assert len(marcxml(record).findall(f"{M}datafield[@tag='852']")) == 1


@pytest.mark.parametrize(
    ("leader", "repaired"),
    [
        ("00714cam  2200205 a 4500", "00714cam a2200205 a 4500"),  # MARC-8 → Unicode
        ("00714cam a4400205 a 4500", "00714cam a2200205 a 4500"),  # bad 10-11
        ("00714c m a2200205 a 1234", "00714cam a2200205 a 4500"),  # blank 06, bad entry map
        ("0071", "0071  a  a" + " " * 14),  # truncated: blanks are legal where they remain
        ("abcdecam a22xx205 a 4500", "00000cam a2200205 a 4500"),  # letters in lengths
    ],
)
def test_leader_repair(leader: str, repaired: str) -> None:
    assert repair_leader(leader) == repaired


def test_markup_characters_are_escaped() -> None:
    record = marc_record(1, 'Sách "Đại cương" <tập 1> & phụ lục', "HNM")
    record.add_field(
        pymarc.Field(
            tag="590",
            indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("&", 'a < b > c " d & e ]]> f')],
        )
    )
    xml = marcxml(record)
    assert MARC_SCHEMA.validate(xml), MARC_SCHEMA.error_log
    title = xml.find(f"{M}datafield[@tag='245']/{M}subfield[@code='a']")
    assert title.text == 'Sách "Đại cương" <tập 1> & phụ lục /'
    note = xml.find(f"{M}datafield[@tag='590']/{M}subfield")
    assert (note.get("code"), note.text) == ("&", 'a < b > c " d & e ]]> f')
