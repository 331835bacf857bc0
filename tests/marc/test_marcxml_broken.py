"""MARCXML files with one broken record: that record is rejected, saying which and where, and
every other record is read exactly as it is read from the intact file.

The files are real records of the shared data (``pymarc__test.dat``, ASCII; and
``yaz__marccol5.u8.marc``, UTF-8 with diacritics) written in each layout MARCXML comes in:
pretty-printed, one record per line, all on one line, with a ``marc:`` prefix, without a
namespace, and as yaz-marcdump writes it. Each kind of breakage is made in one record of
each layout; the intact file of the same layout gives the records to compare with.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pymarc
import pytest
from lxml import etree

from marc import marcxml_split
from marc.errors import UnusableInput
from marc.reader import MarcReader, ReadResult, finish
from marc.writer import MARC_NS, MarcWriter, marcxml_text
from tests.marc.helpers import run_yaz
from tests.paths import MARC_DIR, OAI_DIR

SOURCES = ("pymarc__test.dat", "yaz__marccol5.u8.marc")
#: The record broken in each file (0-based): neither the first nor the last.
BROKEN = 3


def _records(source: str) -> list[pymarc.Record]:
    records = [r.record for r in MarcReader(MARC_DIR / source) if r.record is not None]
    assert len(records) >= 10
    return records


def _ours(records: list[pymarc.Record]) -> bytes:
    """The project's writer: a collection with one record per line."""
    out = io.BytesIO()
    with MarcWriter(out, "marcxml") as writer:
        for record in records:
            writer.write(record)
    return out.getvalue()


def _pymarc_single_line(records: list[pymarc.Record]) -> bytes:
    """pymarc's XMLWriter: declaration, collection and every record on one line."""
    out = io.BytesIO()
    writer = pymarc.XMLWriter(out)
    for record in records:
        writer.write(record)
    writer.close(close_fh=False)
    data = out.getvalue()
    assert b"\n" not in data
    return data


def _pretty(records: list[pymarc.Record], prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    declaration = f'xmlns{":" + prefix if prefix else ""}="{MARC_NS}"'
    text = (
        f"<{p}collection {declaration}>"
        + "".join(marcxml_text(r, prefix=prefix, declare=False) for r in records)
        + f"</{p}collection>"
    )
    root = etree.fromstring(text.encode())
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def _no_namespace(records: list[pymarc.Record]) -> bytes:
    return _ours(records).replace(f' xmlns="{MARC_NS}"'.encode(), b"")


def _yaz(source: str) -> bytes:
    done = run_yaz("-i", "marc", "-o", "marcxml", str(MARC_DIR / source))
    assert done.returncode == 0, done.stderr
    return done.stdout


LAYOUTS: dict[str, Callable[[str], bytes]] = {
    "pretty": lambda source: _pretty(_records(source)),
    "one-per-line": lambda source: _ours(_records(source)),
    "single-line": lambda source: _pymarc_single_line(_records(source)),
    "prefixed": lambda source: _pretty(_records(source), prefix="marc"),
    "no-namespace": lambda source: _no_namespace(_records(source)),
    "yaz": _yaz,
}
_CACHE: dict[tuple[str, str], bytes] = {}


def intact(layout: str, source: str) -> bytes:
    key = (layout, source)
    if key not in _CACHE:
        _CACHE[key] = LAYOUTS[layout](source)
    return _CACHE[key]


def read(data: bytes, deferred: bool = False) -> list[ReadResult]:
    """Every result of reading ``data``; ``deferred`` as an import with workers reads."""
    reader = MarcReader(io.BytesIO(data), format="marcxml")
    if deferred:
        return [finish(ordinal, item) for ordinal, item in reader.pieces(deferred=True)]
    return list(reader)


_START = re.compile(rb"<(?:\w+:)?record[\s>]")
_END = re.compile(rb"</(?:\w+:)?record>")


def starts(data: bytes) -> list[int]:
    """Byte offsets of the record start tags of ``data``."""
    return [m.start() for m in _START.finditer(data)]


def span(data: bytes, k: int) -> tuple[int, int]:
    """Start and end offsets of record ``k`` of intact ``data``."""
    ends = [m.end() for m in _END.finditer(data)]
    assert len(ends) == len(starts(data))
    return starts(data)[k], ends[k]


def position(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (characters, from 1) of byte ``offset`` of UTF-8 ``data``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def reported(reason: str) -> tuple[int, int]:
    match = re.search(r"\(line (\d+), column (\d+)\)$", reason)
    assert match, f"no position at the end of {reason!r}"
    return int(match.group(1)), int(match.group(2))


# -- the breakages: each returns the broken file and the offset of what it broke --------------
def _first_text(data: bytes, k: int) -> int:
    """Offset of the first subfield value of record ``k``."""
    start, end = span(data, k)
    match = re.compile(rb"<(?:\w+:)?subfield code=\"[^\"]\">").search(data, start, end)
    assert match
    return match.end()


def _insert_text(text: bytes, defect: bytes) -> Callable[[bytes, int], tuple[bytes, int]]:
    """Put ``text`` before the first subfield value of record ``k``; the offset returned is
    that of ``defect`` in it."""

    def breakage(data: bytes, k: int) -> tuple[bytes, int]:
        at = _first_text(data, k)
        return data[:at] + text + data[at:], at + text.index(defect)

    return breakage


def _unclosed(data: bytes, k: int) -> tuple[bytes, int]:
    start, end = span(data, k)
    match = re.compile(rb"</(?:\w+:)?subfield>").search(data, start, end)
    assert match
    return data[: match.start()] + data[match.end() :], match.start()


def _no_record_end(data: bytes, k: int) -> tuple[bytes, int]:
    start, end = span(data, k)
    tag = re.compile(rb"</(?:\w+:)?record>").search(data, start, end)
    assert tag
    return data[: tag.start()] + data[tag.end() :], tag.start()


def _wrong_namespace(data: bytes, k: int) -> tuple[bytes, int]:
    start, _ = span(data, k)
    name = re.compile(rb"<((?:(\w+):)?record)").match(data, start)
    assert name
    prefix = name.group(2)
    declaration = (
        b" xmlns" + (b":" + prefix if prefix else b"") + b'="http://www.loc.gov/MARC21/slim/"'
    )
    at = name.end()
    return data[:at] + declaration + data[at:], start


def _undeclared_prefix(data: bytes, k: int) -> tuple[bytes, int]:
    start, end = span(data, k)
    element = data[start:end]
    renamed = re.sub(rb"<(/?)(?:\w+:)?record", rb"<\1mx:record", element)
    return data[:start] + renamed + data[end:], start


BREAKAGES: dict[str, Callable[[bytes, int], tuple[bytes, int]]] = {
    "unclosed-element": _unclosed,
    "no-record-end-tag": _no_record_end,
    "bare-ampersand": _insert_text(b"Tom & Jerry ", b"&"),
    "bare-less-than": _insert_text(b"1 < 2 ", b"<"),
    "unknown-entity": _insert_text(b"caf&eacute; ", b";"),
    "control-character": _insert_text(b"bell\x07 ", b"\x07"),
    "invalid-utf8": _insert_text(b"caf\xe9 ", b"\xe9"),
    "wrong-namespace": _wrong_namespace,
    "undeclared-prefix": _undeclared_prefix,
}
#: What the reason says, and which breakages have their position at the broken spot.
SAYS = {
    "unclosed-element": "is not closed before",
    "no-record-end-tag": "has no end tag",
    "bare-ampersand": "a '&' that starts no entity",
    "bare-less-than": "a '<' that starts no element",
    "unknown-entity": "unknown entity &eacute;",
    "control-character": "a control character",
    "invalid-utf8": "not valid in the file's encoding",
    "wrong-namespace": "not in MARC 21 slim",
    "undeclared-prefix": "the namespace prefix 'mx' of <mx:record> is not declared",
}
#: Breakages whose reason points at the broken character (libxml2 reports some one column
#: after it, having read it; an unknown entity, after its ";").
AT_THE_SPOT = {"bare-ampersand", "bare-less-than", "unknown-entity", "control-character"}


def fields(record: pymarc.Record) -> list[tuple[object, ...]]:
    """Every field of ``record``: tag, then data or indicators and (code, value) pairs."""
    return [
        (f.tag, f.data)
        if f.is_control_field()
        else (f.tag, f.indicator1, f.indicator2, *((s.code, s.value) for s in f.subfields))
        for f in record.fields
    ]


def _check_the_others(broken: list[ReadResult], good: list[ReadResult], skip: set[int]) -> None:
    """Every record but the broken ones is read exactly as from the intact file, at its
    ordinal: the same canonical ISO 2709 bytes (so the same leader, fields, indicators,
    subfield codes and values)."""
    assert len(broken) == len(good)
    for k, (result, expected) in enumerate(zip(broken, good, strict=True)):
        assert result.ordinal == k + 1
        if k in skip:
            continue
        assert result.ok, (k, result.reason)
        assert result.marc == expected.marc
        assert result.control_number == expected.control_number


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("breakage", BREAKAGES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_one_broken_record_is_rejected_and_the_others_read(
    layout: str, breakage: str, source: str
) -> None:
    data = intact(layout, source)
    good = read(data)
    assert all(r.ok for r in good), [r.reason for r in good if not r.ok]
    # the intact file holds the source's records, field for field
    originals = _records(source)
    assert [fields(r.record) for r in good if r.record] == [fields(r) for r in originals]
    broken_data, spot = BREAKAGES[breakage](data, BROKEN)
    for deferred in (False, True):  # in this process, and as an import with workers reads
        results = read(broken_data, deferred)
        _check_the_others(results, good, skip={BROKEN})
        bad = results[BROKEN]
        assert not bad.ok and bad.record is None and bad.marc is None
        assert bad.reason is not None and SAYS[breakage] in bad.reason, bad.reason
        assert bad.reason.startswith(
            "not a MARC record" if breakage == "wrong-namespace" else "malformed XML: "
        )
        # where the record starts, and its control number, though it could not be read
        start = starts(broken_data)[BROKEN]
        assert bad.offset == start
        assert bad.line == position(broken_data, start)[0]
        assert bad.control_number == good[BROKEN].control_number
        assert bad.raw == broken_data[start : start + len(bad.raw)]
        line, column = reported(bad.reason)
        if breakage in AT_THE_SPOT:
            expected_line, expected_column = position(broken_data, spot)
            assert line == expected_line
            assert expected_column <= column <= expected_column + 1
        else:  # somewhere from the record's start to the next record's
            end = starts(broken_data)[BROKEN + 1] if breakage != "no-record-end-tag" else None
            assert position(broken_data, start) <= (line, column)
            if end is not None:
                assert (line, column) <= position(broken_data, end)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_truncated_file(layout: str) -> None:
    data = intact(layout, SOURCES[0])
    good = read(data)
    start, end = span(data, BROKEN)
    cut = data[: (start + end) // 2]
    results = read(cut)
    assert len(results) == BROKEN + 1
    _check_the_others(results, good[: BROKEN + 1], skip={BROKEN})
    bad = results[BROKEN]
    assert bad.offset == start and bad.raw == cut[start:]
    assert "the file ends inside this record (truncated file?)" in (bad.reason or "")
    assert reported(bad.reason or "") == position(cut, len(cut))
    assert bad.control_number == good[BROKEN].control_number


@pytest.mark.parametrize(
    ("garbage", "says"),
    [
        (b"stray text", "text outside any record ('stray text')"),
        (b"<junk>1</junk>", "a <junk> element outside any record"),
        (b"</datafield>", "an end tag </datafield> outside any record"),
        (b"& < &amp;", "text outside any record ('&')"),
        (b"<!-- a comment never closed", "a comment that is never closed"),
    ],
)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_garbage_between_records_is_reported_in_its_place(
    layout: str, garbage: bytes, says: str
) -> None:
    data = intact(layout, SOURCES[0])
    good = read(data)
    at = starts(data)[BROKEN]
    broken_data = data[:at] + garbage + b"\n" + data[at:]
    results = read(broken_data)
    assert len(results) == len(good) + 1
    stray = results[BROKEN]
    assert stray.ordinal == BROKEN + 1 and not stray.ok
    assert stray.reason == f"not a record: {says} (line {position(broken_data, at)[0]}, " + (
        f"column {position(broken_data, at)[1]})"
    )
    assert stray.offset == at and stray.raw.startswith(garbage[:5])
    # the records before and after it, all read, the later ones one ordinal further
    _check_the_others(results[:BROKEN], good[:BROKEN], skip=set())
    for result, expected in zip(results[BROKEN + 1 :], good[BROKEN:], strict=True):
        assert result.ok and result.marc == expected.marc
        assert result.ordinal == expected.ordinal + 1


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_record_whose_start_tag_is_mangled_is_reported_not_lost(layout: str) -> None:
    data = intact(layout, SOURCES[0])
    good = read(data)
    start, _ = span(data, BROKEN)
    broken_data = data[:start] + data[start:].replace(b"record", b"recrod", 1)
    results = read(broken_data)
    assert len(results) == len(good)
    stray = results[BROKEN]
    assert not stray.ok and (stray.reason or "").startswith("not a record: ")
    assert stray.offset == start and b"<leader>" in stray.raw.replace(b"marc:", b"")
    _check_the_others(results, good, skip={BROKEN})


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_collection_end_tag_loses_nothing(layout: str) -> None:
    data = intact(layout, SOURCES[1])
    good = read(data)
    cut = re.sub(rb"</(?:\w+:)?collection>\s*$", b"", data)
    assert cut != data
    _check_the_others(read(cut), good, skip=set())


def test_record_markup_in_comments_and_cdata_inside_a_record_is_text() -> None:
    data = intact("pretty", SOURCES[0])
    good = read(data)
    start, _ = span(data, BROKEN)
    field = data.index(b"<datafield", start)
    inside = b"<!-- moved from <record> 12 --><![CDATA[ <record><leader> ]]><?pi <record>?>"
    results = read(data[:field] + inside + data[field:])
    _check_the_others(results, good, skip=set())


def test_a_comment_between_records_holding_records_is_reported() -> None:
    """Records commented out (or a ``-->`` lost): not read, but never silently."""
    data = intact("one-per-line", SOURCES[0])
    good = read(data)
    start, end = span(data, BROKEN)[0], span(data, BROKEN + 1)[1]
    broken_data = data[:start] + b"<!--" + data[start:end] + b"-->" + data[end:]
    results = read(broken_data)
    assert len(results) == len(good) - 1
    reported_comment = results[BROKEN]
    assert not reported_comment.ok and "a comment holds record markup" in (
        reported_comment.reason or ""
    )
    assert reported_comment.offset == start
    for result, expected in zip(results[BROKEN + 1 :], good[BROKEN + 2 :], strict=True):
        assert result.ok and result.marc == expected.marc


def test_a_comment_inside_a_record_that_swallows_its_end_is_not_trusted() -> None:
    """``<!--`` whose ``-->`` was lost: the record is rejected, the next ones are read."""
    data = intact("pretty", SOURCES[0])
    good = read(data)
    start, _ = span(data, BROKEN)
    field = data.index(b"<datafield", start)
    later = starts(data)[BROKEN + 2]
    comment_end = data.index(b"<datafield", later)
    broken_data = data[:field] + b"<!-- " + data[field:comment_end] + b" -->" + data[comment_end:]
    results = read(broken_data)
    assert not results[BROKEN].ok
    assert results[-1].ok and results[-1].marc == good[-1].marc


def test_single_record_documents() -> None:
    record = _records(SOURCES[1])[0]
    text = marcxml_text(record, prefix="")
    good = read(text.encode())
    assert len(good) == 1 and good[0].ok
    broken = text.replace("</subfield>", "", 1).encode()
    (bad,) = read(broken)
    assert not bad.ok and bad.offset == 0 and "is not closed before" in (bad.reason or "")
    (cut,) = read(text.encode()[: len(text) // 2])
    assert "truncated file" in (cut.reason or "")


def test_files_joined_end_to_end_are_read_whole() -> None:
    """``cat a.xml b.xml``: a second XML declaration and root; every record is read."""
    data = intact("one-per-line", SOURCES[0])
    results = read(data + data)
    assert len(results) == 2 * len(read(data)) and all(r.ok for r in results)


@pytest.mark.parametrize("chunk", [7, 64, 1000])
@pytest.mark.parametrize("layout", ["pretty", "single-line", "prefixed"])
def test_reads_in_small_chunks_give_the_same_results(
    monkeypatch: pytest.MonkeyPatch, layout: str, chunk: int
) -> None:
    """Tags, comments and records straddling the reads of the stream change nothing."""
    data = intact(layout, SOURCES[1])
    at = starts(data)[5]
    broken_data, _ = _unclosed(data[:at] + b"<!-- x --> junk " + data[at:], BROKEN)

    def key(results: list[ReadResult]) -> list[tuple[object, ...]]:
        return [(r.ordinal, r.offset, r.line, r.reason, r.marc, r.raw) for r in results]

    expected = key(read(broken_data))
    assert sum(r[3] is not None for r in expected) == 2
    monkeypatch.setattr(marcxml_split, "_CHUNK", chunk)
    assert key(read(broken_data)) == expected


def test_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stream is read as the records are asked for, and kept only one record's worth."""
    record = marcxml_text(_records(SOURCES[0])[0], prefix="", declare=False).encode()
    count = 3000
    data = b'<collection xmlns="%s">' % MARC_NS.encode() + record * count + b"</collection>"

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            self.total = getattr(self, "total", 0) + len(chunk)
            return chunk

    stream = Counting(data)
    splitter = marcxml_split.Splitter(stream)
    for n, piece in enumerate(splitter, start=1):
        assert piece.record and piece.problem is None
        assert len(splitter.buf) <= 2 * marcxml_split._CHUNK + len(record)
        if n == 1:
            assert stream.total <= marcxml_split._CHUNK + 4096  # not the whole file
    assert n == count


def test_a_record_too_large_is_rejected_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    data = intact("one-per-line", SOURCES[0])
    good = read(data)
    start, end = span(data, BROKEN)
    monkeypatch.setattr(marcxml_split, "MAX_RECORD_BYTES", end - start - 10)
    monkeypatch.setattr(marcxml_split, "_CHUNK", 256)
    monkeypatch.setattr(marcxml_split, "_SHOWN", 100)
    results = read(data)
    big = results[BROKEN]
    assert not big.ok and "larger than" in (big.reason or "") and len(big.raw) == 100
    limit = end - start - 10
    others = {k for k in range(len(good)) if span(data, k)[1] - span(data, k)[0] > limit}
    _check_the_others(results, good, skip=others)


def test_a_record_far_over_the_limit_is_skipped_without_keeping_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the limit the splitter goes on to the record's end tag holding only a read or
    two (it kept everything from the limit on, and copied it at every read)."""
    monkeypatch.setattr(marcxml_split, "MAX_RECORD_BYTES", 4096)
    monkeypatch.setattr(marcxml_split, "_CHUNK", 256)
    huge = (
        b'<record><leader>00000nam a2200000 a 4500</leader><datafield tag="500" ind1=" " '
        b'ind2=" "><subfield code="a">' + b"y" * 200_000 + b"</subfield></datafield></record>"
    )
    data = intact("one-per-line", SOURCES[0])
    at = data.index(b"<record", data.index(b"<record") + 1)  # before the second record
    splitter = marcxml_split.Splitter(io.BytesIO(data[:at] + huge + b"\n" + data[at:]))
    largest = 0
    pieces = []
    for piece in splitter:
        pieces.append(piece)
        largest = max(largest, len(splitter.buf))
    assert [p.problem is not None for p in pieces].count(True) == 1
    assert len(pieces) == len(read(data)) + 1
    assert largest < 4096 + 4 * 256 + 4096  # the limit and a few reads, not 200,000 bytes


def _xrec(control: str) -> bytes:
    return (
        b'<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">'
        + control.encode()
        + b'</controlfield><datafield tag="245" ind1="0" ind2="0"><subfield code="a">T'
        b"</subfield></datafield></record>"
    )


def test_a_processing_instruction_holding_records_is_said_not_lost() -> None:
    body = _xrec("1") + b"<?pi " + _xrec("2") + _xrec("3") + b"<?x?>" + _xrec("4")
    data = b'<collection xmlns="' + MARC_NS.encode() + b'">' + body + b"</collection>"
    results = read(data)
    assert [r.ok for r in results] == [True, False, True]
    assert "processing instruction holds record markup" in (results[1].reason or "")


def test_nesting_deeper_than_libxml2_allows_is_refused() -> None:
    data = b"<a>" * 300 + _xrec("1") + b"</a>" * 300
    with pytest.raises(UnusableInput, match="nested more than 256 deep"):
        read(data)


def test_an_xml_declaration_naming_a_codec_of_bytes_reads_as_utf8() -> None:
    """encoding="hex" (a codec Python has, but not of text) raised LookupError."""
    data = b'<?xml version="1.0" encoding="hex"?><collection><record/></collection>'
    (result,) = read(data)
    assert not result.ok


def test_latin1_document_has_byte_offsets_and_reads_its_text() -> None:
    records = _records(SOURCES[1])
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        f'<collection xmlns="{MARC_NS}">\n'
        + "\n".join(marcxml_text(r, prefix="", declare=False) for r in records[:4])
        + "\n</collection>\n"
    )
    text = text.replace("</leader>", "</leader><!-- é -->", 1)
    data = text.encode("latin-1", "xmlcharrefreplace")
    title = data.index(b'<subfield code="a">', data.index(b"<record", data.index(b"<record") + 1))
    data = data[: title + 19] + b"Caf\xe9 & " + data[title + 19 :]
    results = read(data)
    assert [r.ok for r in results] == [True, False, True, True]
    assert results[1].offset == data.index(b"<record", data.index(b"<record") + 1)
    assert "a '&' that starts no entity" in (results[1].reason or "")
    assert results[0].marc == read(_ours(records[:1]))[0].marc
    assert all(r.offset is not None and data[r.offset :].startswith(b"<record") for r in results)


def test_utf16_document_is_read_without_byte_offsets() -> None:
    data = intact("pretty", SOURCES[1])
    good = read(data)
    broken_data, _ = _insert_text(b"Tom & Jerry ", b"&")(data, BROKEN)
    text = broken_data.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    results = read(text.encode("utf-16"))
    _check_the_others(results, good, skip={BROKEN})
    assert "a '&' that starts no entity" in (results[BROKEN].reason or "")
    assert all(r.offset is None for r in results)
    assert [r.line for r in results] == [r.line for r in read(broken_data)]


def test_a_document_holding_no_record_is_refused_whole() -> None:
    """Stray content alone (marcperl__invalid.xml: a collection holding a bare datafield)
    is no MARCXML file; stray content before the first record of one is reported."""
    data = (MARC_DIR / "marcperl__invalid.xml").read_bytes()
    with pytest.raises(UnusableInput, match="no MARC record found"):
        read(data)
    record = marcxml_text(_records(SOURCES[0])[0], prefix="", declare=False).encode()
    results = read(data.replace(b"</collection>", record + b"</collection>"))
    assert [r.ok for r in results] == [False, True]
    assert results[0].reason == (
        "not a record: a <datafield> element outside any record (line 6, column 1)"
    )


def test_bad_bytes_in_one_record_leave_the_text_of_the_others_whole() -> None:
    """A recorded harvest whose record 114 holds bytes that are not UTF-8. Parsed as one
    document in recover mode, every entity of the rest of the file was then dropped (85
    records stored with "John Wiley  Sons" for "John Wiley &amp; Sons"); parsed record by
    record, each keeps its text."""
    path = OAI_DIR / "mod-reservoir" / "pennstate-bad-rec-20221216.xml"
    data = path.read_bytes()
    results = list(MarcReader(path, format="marcxml"))
    assert [r.ordinal for r in results if not r.ok] == [114, 300]
    assert (results[113].reason or "").endswith(
        "not valid in the file's encoding (is the file in another encoding than its XML "
        "declaration says?) (line 13964, column 32)"
    )
    checked = 0
    for result in results:
        if not result.ok or result.offset is None:
            continue
        assert result.record is not None
        written = data[result.offset : data.index(b"</record>", result.offset)]
        values = [v for f in fields(result.record) for v in f[1:] if isinstance(v, (str, tuple))]
        text = "".join(v if isinstance(v, str) else v[1] for v in values)
        assert text.count("&") == written.count(b"&amp;"), result.ordinal
        checked += written.count(b"&amp;") and result.ordinal > 114
    assert checked >= 10  # records after the bad one with an &amp; in them
