"""Format detection, gzip, overrides, unusable input, bounded memory."""

from __future__ import annotations

import gzip
import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from marc.errors import UnknownFormat, UnusableInput
from marc.formats import canonical_format, sniff
from marc.reader import MarcReader
from marc.writer import record_to_iso2709, record_to_xml_element
from tests.marc.helpers import simple_record
from tests.paths import MARC_DIR


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"00714cam a2200205 a 4500", "iso2709"),
        (b'<?xml version="1.0"?><collection/>', "marcxml"),
        (b"\xef\xbb\xbf<record/>", "marcxml"),
        (b'[{"leader": "x"}]', "json"),
        (b'  {"leader": "x"}', "json"),
        (b"=LDR  00714cam a2200205 a 4500", "mrk"),
        (b"hello world", None),
    ],
)
def test_sniff(head: bytes, fmt: str | None) -> None:
    assert sniff(head) == fmt


def test_gzip_is_read_transparently(tmp_path) -> None:
    source = MARC_DIR / "marcperl__batch.xml"
    packed = tmp_path / "batch.xml.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    plain = [str(r.record) for r in MarcReader(source)]
    reader = MarcReader(packed)
    assert reader.format == "marcxml"
    assert [str(r.record) for r in reader] == plain


def test_format_override(tmp_path) -> None:
    path = tmp_path / "records.txt"
    path.write_bytes((MARC_DIR / "marcperl__camel.mrk").read_bytes())
    assert MarcReader(path, format="mrk").format == "mrk"
    with pytest.raises(UnknownFormat):
        canonical_format("pdf")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"just some text\n", "not in a MARC format"), (b"\x1f\x8b\x08junk", "gzip")],
)
def test_unusable_input(tmp_path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.mrc"
    path.write_bytes(content)
    with pytest.raises(UnusableInput, match=message):
        list(MarcReader(path))


def damaged_gzip(tmp_path: Path, damage: str, count: int = 3000) -> Path:
    """``count`` small records, gzip-compressed, then damaged: ``"truncated"`` cuts the
    compressed stream at two thirds, ``"crc"`` spoils its CRC (every byte is there)."""
    data = b"".join(
        record_to_iso2709(simple_record(f"rec{i}", f"Tiêu đề số {i}")) for i in range(count)
    )
    packed = bytearray(gzip.compress(data, mtime=0))
    if damage == "truncated":
        packed = packed[: len(packed) * 2 // 3]
    else:
        packed[-8] ^= 0xFF  # the trailer: CRC-32, then the length
    path = tmp_path / f"{damage}.mrc.gz"
    path.write_bytes(bytes(packed))
    return path


@pytest.mark.parametrize("damage", ["truncated", "crc"])
def test_a_gzip_stream_damaged_part_way_stops_with_a_sentence(tmp_path, damage: str) -> None:
    """The records before the damage are read; then UnusableInput says where, never a bare
    EOFError or BadGzipFile."""
    read = []
    with pytest.raises(UnusableInput, match=r"is damaged after [\d,]+ bytes of its content"):
        for result in MarcReader(damaged_gzip(tmp_path, damage)):
            assert result.ok, result.errors
            read.append(result.record["001"].data)
    assert read == [f"rec{i}" for i in range(len(read))]
    assert (0 < len(read) < 3000) if damage == "truncated" else len(read) == 3000


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "marc-8", "latin-1"])
def test_a_byte_encoding_is_refused_for_unicode_formats(tmp_path, encoding: str) -> None:
    """Asked of MARCXML or MARC-in-JSON it would be left unapplied: refused, with why."""
    xml = MARC_DIR / "marcperl__batch.xml"
    with pytest.raises(UnusableInput, match=r"encoding .* applies to ISO 2709 .*marcxml"):
        MarcReader(xml, encoding=encoding)
    assert MarcReader(xml, encoding="utf-8").format == "marcxml"


def test_missing_file() -> None:
    with pytest.raises(UnusableInput, match="cannot open"):
        MarcReader("/nonexistent/file.mrc")


class _Generated(io.RawIOBase):
    """A stream of ``count`` records made on the fly: a big file without disk or memory."""

    def __init__(self, count: int, fmt: str) -> None:
        self._records = self._make(count, fmt)
        self._buffer = b""

    @staticmethod
    def _make(count: int, fmt: str) -> Iterator[bytes]:
        from lxml import etree

        if fmt == "marcxml":
            yield b'<collection xmlns="http://www.loc.gov/MARC21/slim">'
        for i in range(count):
            record = simple_record(
                f"gen{i}", title=f"Sách số {i} về lịch sử Việt Nam", f500="n" * 400
            )
            if fmt == "marcxml":
                yield etree.tostring(record_to_xml_element(record))
            else:
                yield record_to_iso2709(record)
        if fmt == "marcxml":
            yield b"</collection>"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while len(self._buffer) < len(buffer):
            chunk = next(self._records, None)
            if chunk is None:
                break
            self._buffer += chunk
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


@pytest.mark.parametrize("fmt", ["iso2709", "marcxml"])
def test_memory_does_not_grow_with_the_file(fmt: str) -> None:
    def peak(count: int) -> int:
        tracemalloc.start()
        n = sum(1 for r in MarcReader(io.BufferedReader(_Generated(count, fmt))) if r.ok)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert n == count
        return top

    small, large = peak(300), peak(3000)
    # ten times the records (about 1.5 MB more input) must not cost ten times the memory
    assert large < small * 2 + 512 * 1024


def test_json_recovers_after_a_malformed_record() -> None:
    good = (
        '{"leader": "00000nam a2200000 i 4500", "fields": [{"001": "%s"}, '
        '{"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "T"}]}}]}'
    )
    text = (
        "["
        + good % "one"
        + ",\n"
        + '{"leader": "broken", "fields": [}'
        + ",\n"
        + good % "three"
        + "]"
    )
    results = list(MarcReader(io.BytesIO(text.encode())))
    assert [r.ok for r in results] == [True, False, True]
    assert "not valid JSON" in results[1].reason
    assert results[2].control_number == "three"
    assert results[1].offset == text.encode().index(b'{"leader": "broken"')


def test_ndjson_with_caret_blanks() -> None:
    results = list(MarcReader(MARC_DIR / "marcperl__test.ndj"))
    assert results and all(r.ok for r in results)
    assert any("'^'" in w for w in results[0].warnings)


def test_marcxml_control_field_written_as_datafield_is_nfc() -> None:
    """Subfields joined into a control field's data are normalised after joining: a base
    letter and a combining mark from two subfields make one precomposed letter."""
    from lxml import etree

    from marc.marcxml import element_to_record

    element = etree.fromstring(
        '<record><leader>00000nam a2200000 a 4500</leader><datafield tag="008" ind1=" " '
        'ind2=" "><subfield code="a">e</subfield><subfield code="b">\u0301</subfield>'
        "</datafield></record>"
    )
    record, reason, warnings = element_to_record(element)
    assert reason is None and record is not None
    assert record["008"].data == "\u00e9"
    assert warnings == ["field 008 is a control field written as a datafield"]
